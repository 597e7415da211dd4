#pragma once
// Whole-file reads and writes. Writes go to a temporary name and are renamed into place, so a
// file is either the old one or the complete new one, never half-written.

#include <string>

namespace linklab::core {

void WriteFileAtomic(const std::string& path, const std::string& data);
// Throws std::runtime_error naming `path` when it cannot be read.
std::string ReadFile(const std::string& path);

}  // namespace linklab::core
