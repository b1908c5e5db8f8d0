#pragma once
// Reading one numeric 1-D dataset from an HDF5 file (explicit connectivity, weights, delays,
// initial values given as files).
#include <filesystem>
#include <string>
#include <vector>

namespace snnsim {

/// The values of dataset `dataset` of `file`, converted to double. Throws std::runtime_error with
/// one line naming the file and the dataset when the file cannot be read, the dataset is missing,
/// not numeric or not one-dimensional.
std::vector<double> read_hdf5_vector(const std::filesystem::path& file, const std::string& dataset);

}  // namespace snnsim
