#pragma once
// Reading and writing NumPy .npy files, so that inputs and weights of deep SNN layer graphs can be
// prepared in Python and loaded natively.
#include <cstddef>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <vector>

namespace snnsim {

/// An n-dimensional array; `values` holds the product of `shape` elements in C (row-major) order.
/// A 0-d array has an empty shape and one value.
struct NpyArray {
  std::vector<std::size_t> shape;
  std::vector<float> values;
};

class NpyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Reads an .npy file (format version 1.0, 2.0 or 3.0) of a little-endian boolean, integer or
/// floating-point dtype, converting to float32. Throws NpyError with one line:
/// "<path>: <what is wrong, what was expected>".
NpyArray read_npy(const std::filesystem::path& path);

/// Writes a float32 C-order .npy file (format version 1.0). The file is written under the
/// temporary name "<path>.partial" and renamed when complete, so a failed write never leaves a
/// file at `path` that looks valid. Throws NpyError.
void write_npy(const std::filesystem::path& path, const std::vector<std::size_t>& shape,
               std::span<const float> values);

}  // namespace snnsim
