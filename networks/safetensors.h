#pragma once
// Reading tensors from safetensors files (https://github.com/huggingface/safetensors), the format
// in which trained weights of deep SNN layer graphs are usually exported.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace snnsim {

/// A float32 tensor to write.
struct SafetensorsTensor {
  std::vector<std::size_t> shape;
  std::vector<float> values;
};

/// Writes float32 tensors as a safetensors file, in the order given: an 8-byte little-endian
/// header length, the JSON header (padded with spaces to a multiple of 8), then the data. Written
/// under a temporary name and renamed when complete.
void write_safetensors(const std::filesystem::path& path,
                       const std::vector<std::pair<std::string, SafetensorsTensor>>& tensors);

class SafetensorsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A safetensors file, memory-mapped read-only for as long as the object lives. Every error is a
/// SafetensorsError with one line starting "<path>: ".
class SafetensorsFile {
 public:
  /// Maps the file and validates the whole header (dtypes, shapes, data offsets), so that reading
  /// a tensor later can only fail for a missing name or an unconvertible dtype.
  explicit SafetensorsFile(const std::filesystem::path& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;
  SafetensorsFile(SafetensorsFile&& other) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&& other) noexcept;

  /// The tensor names, sorted.
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const;
  std::vector<std::size_t> shape(const std::string& name) const;
  /// The safetensors dtype name, such as "F32" or "BF16".
  std::string dtype(const std::string& name) const;
  /// The tensor converted to float32, in C order. F32, F16, BF16, F64, I8, I16, I32, I64, U8, U16,
  /// U32, U64 and BOOL are supported.
  std::vector<float> read_float(const std::string& name) const;
  /// The header's "__metadata__" (empty when it has none).
  std::map<std::string, std::string> metadata() const;

 private:
  struct Tensor {
    std::string dtype;
    std::vector<std::size_t> shape;
    std::uint64_t begin = 0;  ///< offsets into the data buffer
    std::uint64_t end = 0;
  };
  const Tensor& find(const std::string& name) const;
  void unmap() noexcept;

  std::filesystem::path path_;
  void* mapping_ = nullptr;
  std::size_t mapping_size_ = 0;
  const unsigned char* data_ = nullptr;  ///< the data buffer, after the header
  std::map<std::string, Tensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace snnsim
