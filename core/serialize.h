#pragma once
// Binary state for checkpoints and snapshots: plain values and vectors appended to a byte
// string, read back in the same order. Readers throw std::runtime_error naming what they read
// when the data runs out or is left over.

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace linklab::core {

class ByteWriter {
 public:
  template <typename T>
  void Put(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>, "Put needs a trivially copyable type");
    buf_.append(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  template <typename T>
  void PutVector(const std::vector<T>& v) {
    static_assert(std::is_trivially_copyable_v<T>, "PutVector needs trivially copyable items");
    Put<uint64_t>(v.size());
    buf_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  }
  void PutString(const std::string& s) {
    Put<uint64_t>(s.size());
    buf_ += s;
  }
  const std::string& data() const { return buf_; }

 private:
  std::string buf_;
};

class ByteReader {
 public:
  ByteReader(std::string data, std::string what) : data_(std::move(data)), what_(std::move(what)) {}
  template <typename T>
  T Get() {
    static_assert(std::is_trivially_copyable_v<T>, "Get needs a trivially copyable type");
    T v;
    Need(sizeof(T));
    std::memcpy(&v, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  template <typename T>
  std::vector<T> GetVector() {
    const auto n = Get<uint64_t>();
    if (n > UINT64_MAX / sizeof(T)) Need(UINT64_MAX);  // a corrupt count must not wrap around
    Need(n * sizeof(T));
    std::vector<T> v(n);
    std::memcpy(v.data(), data_.data() + pos_, n * sizeof(T));
    pos_ += n * sizeof(T);
    return v;
  }
  std::string GetString() {
    const auto n = Get<uint64_t>();
    Need(n);
    std::string s = data_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  void ExpectEnd() const {
    if (pos_ != data_.size()) throw std::runtime_error(what_ + ": unexpected trailing data");
  }

 private:
  void Need(uint64_t n) const {
    if (n > data_.size() - pos_) throw std::runtime_error(what_ + ": truncated or malformed");
  }
  std::string data_, what_;
  size_t pos_ = 0;
};

}  // namespace linklab::core
