#pragma once
// Small helpers over the HDF5 C++ API shared by the file kinds in datasets/ (only included by
// .cc files: keeps HDF5 headers out of the rest of the project).

#include <H5Cpp.h>

#include <cstdint>
#include <string>
#include <vector>

namespace linklab::datasets::h5 {

// Opens or creates every group along `path` ("/a/b/c").
H5::Group EnsureGroup(H5::H5File& file, const std::string& path);
bool Exists(const H5::H5Location& where, const std::string& name);

void WriteDoubles(H5::Group& group, const std::string& name, const std::vector<double>& values);
std::vector<double> ReadDoubles(const H5::DataSet& ds);

void SetText(H5::H5Object& obj, const std::string& name, const std::string& value);
void SetInt(H5::H5Object& obj, const std::string& name, int64_t value);
std::string GetText(const H5::H5Object& obj, const std::string& name);
int64_t GetInt(const H5::H5Object& obj, const std::string& name);

// Silences HDF5's own error printing while it lives (errors surface as exceptions).
class QuietErrors {
 public:
  QuietErrors() { H5::Exception::dontPrint(); }
};

}  // namespace linklab::datasets::h5
