#include "networks/hdf5_dataset.h"

#include <hdf5.h>

#include <stdexcept>

namespace snnsim {
namespace {
/// Closes an HDF5 handle when it goes out of scope.
struct Handle {
  hid_t id;
  herr_t (*close)(hid_t);
  ~Handle() {
    if (id >= 0) close(id);
  }
};
}  // namespace

std::vector<double> read_hdf5_vector(const std::filesystem::path& file,
                                     const std::string& dataset) {
  const std::string where = file.string() + ": dataset '" + dataset + "'";
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // errors are reported by the exceptions below
  if (!std::filesystem::exists(file)) throw std::runtime_error(file.string() + ": no such file");
  if (H5Fis_hdf5(file.c_str()) <= 0) throw std::runtime_error(file.string() + ": not an HDF5 file");
  const Handle f{H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose};
  if (f.id < 0) throw std::runtime_error(file.string() + ": cannot open (damaged HDF5 file?)");
  if (H5Lexists(f.id, dataset.c_str(), H5P_DEFAULT) <= 0)
    throw std::runtime_error(where + " not found");
  const Handle d{H5Dopen2(f.id, dataset.c_str(), H5P_DEFAULT), H5Dclose};
  if (d.id < 0) throw std::runtime_error(where + " is not a dataset");
  const Handle type{H5Dget_type(d.id), H5Tclose};
  const H5T_class_t type_class = H5Tget_class(type.id);
  if (type_class != H5T_INTEGER && type_class != H5T_FLOAT) {
    throw std::runtime_error(where + " is not numeric");
  }
  const Handle space{H5Dget_space(d.id), H5Sclose};
  if (H5Sget_simple_extent_ndims(space.id) != 1) {
    throw std::runtime_error(where + " is not one-dimensional");
  }
  hsize_t size = 0;
  H5Sget_simple_extent_dims(space.id, &size, nullptr);
  std::vector<double> values(size);
  if (size > 0 &&
      H5Dread(d.id, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0) {
    throw std::runtime_error(where + ": cannot read (damaged file?)");
  }
  return values;
}

}  // namespace snnsim
