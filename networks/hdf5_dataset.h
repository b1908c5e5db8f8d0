#pragma once
// Reading numeric datasets from HDF5 files: 1-D ones for population networks (explicit
// connectivity, weights, delays, initial values given as files), n-D ones for the weights of
// layer graphs.
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace snnsim {

/// A dataset's shape and values (C order, converted to double).
struct Hdf5Array {
  std::vector<std::size_t> shape;
  std::vector<double> values;
  bool integer = false;  ///< written as int64 (indices); float32 otherwise
};

/// Dataset `dataset` of `file`. Throws std::runtime_error with one line naming the file and the
/// dataset when the file cannot be read or the dataset is missing or not numeric.
Hdf5Array read_hdf5_array(const std::filesystem::path& file, const std::string& dataset);

/// The names of every dataset in `file` (paths without the leading '/'), sorted.
std::vector<std::string> list_hdf5_datasets(const std::filesystem::path& file);

/// The values of dataset `dataset` of `file`, converted to double. Throws std::runtime_error with
/// one line naming the file and the dataset when the file cannot be read, the dataset is missing,
/// not numeric or not one-dimensional.
std::vector<double> read_hdf5_vector(const std::filesystem::path& file, const std::string& dataset);

/// Writes each array as a dataset named by its key (at the root, or under groups named in the
/// key's path) of a new file `file`, gzip-compressed, through a temporary file renamed on success.
/// Throws std::runtime_error naming the file.
void write_hdf5_arrays(const std::filesystem::path& file,
                       const std::vector<std::pair<std::string, Hdf5Array>>& arrays);

}  // namespace snnsim
