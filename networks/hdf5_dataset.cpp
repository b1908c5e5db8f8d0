#include "networks/hdf5_dataset.h"

#include <hdf5.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>

#include "sim/atomic_write.h"
#include "sim/hdf5_util.h"

namespace snnsim {
namespace {

using hdf5::Handle;

/// Opens `file` for reading, with one-line errors for a missing, foreign or damaged file.
Handle open_file(const std::filesystem::path& file) {
  hdf5::silence_errors();
  if (!std::filesystem::exists(file)) throw std::runtime_error(file.string() + ": no such file");
  if (H5Fis_hdf5(file.c_str()) <= 0) throw std::runtime_error(file.string() + ": not an HDF5 file");
  hdf5::check_readable(file);
  Handle f{H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose};
  if (!f.valid()) throw std::runtime_error(file.string() + ": cannot open (damaged HDF5 file?)");
  return f;
}

}  // namespace

Hdf5Array read_hdf5_array(const std::filesystem::path& file, const std::string& dataset) {
  const std::string where = file.string() + ": dataset '" + dataset + "'";
  const Handle f = open_file(file);
  if (H5Lexists(f.get(), dataset.c_str(), H5P_DEFAULT) <= 0)
    throw std::runtime_error(where + " not found");
  const Handle d{H5Dopen2(f.get(), dataset.c_str(), H5P_DEFAULT), H5Dclose};
  if (!d.valid()) throw std::runtime_error(where + " is not a dataset");
  const Handle type{H5Dget_type(d.get()), H5Tclose};
  const H5T_class_t type_class = H5Tget_class(type.get());
  if (type_class != H5T_INTEGER && type_class != H5T_FLOAT) {
    throw std::runtime_error(where + " is not numeric");
  }
  const Handle space{H5Dget_space(d.get()), H5Sclose};
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) throw std::runtime_error(where + ": cannot read its shape (damaged file?)");
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  Hdf5Array array;
  array.shape.assign(dims.begin(), dims.end());
  const hssize_t points = H5Sget_simple_extent_npoints(space.get());
  if (points < 0) throw std::runtime_error(where + ": cannot read its shape (damaged file?)");
  const std::size_t size = static_cast<std::size_t>(points);
  hdf5::check_declared_size(d.get(), size, where);
  array.values.resize(size);
  if (size > 0 &&
      H5Dread(d.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, array.values.data()) < 0) {
    throw std::runtime_error(where + ": cannot read (damaged file?)");
  }
  return array;
}

std::vector<std::string> list_hdf5_datasets(const std::filesystem::path& file) {
  const Handle f = open_file(file);
  std::vector<std::string> names;
  const auto visit = [](hid_t, const char* name, const H5O_info_t* info, void* out) -> herr_t {
    if (info->type == H5O_TYPE_DATASET)
      static_cast<std::vector<std::string>*>(out)->push_back(name);
    return 0;
  };
  if (H5Ovisit2(f.get(), H5_INDEX_NAME, H5_ITER_INC, visit, &names, H5O_INFO_BASIC) < 0) {
    throw std::runtime_error(file.string() + ": cannot list its datasets (damaged file?)");
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<double> read_hdf5_vector(const std::filesystem::path& file,
                                     const std::string& dataset) {
  Hdf5Array array = read_hdf5_array(file, dataset);
  if (array.shape.size() != 1) {
    throw std::runtime_error(file.string() + ": dataset '" + dataset + "' is not one-dimensional");
  }
  return std::move(array.values);
}

void write_hdf5_arrays(const std::filesystem::path& file,
                       const std::vector<std::pair<std::string, Hdf5Array>>& arrays) {
  hdf5::silence_errors();
  write_atomically(file, [&](const std::filesystem::path& partial) {
    Handle f{H5Fcreate(partial.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose};
    if (!f.valid()) throw std::runtime_error(file.string() + ": cannot create " + partial.string());
    // Keys with '/' create their groups on the way.
    const Handle links{H5Pcreate(H5P_LINK_CREATE), H5Pclose};
    H5Pset_create_intermediate_group(links.get(), 1);
    for (const auto& [name, array] : arrays) {
      std::vector<hsize_t> dims(array.shape.begin(), array.shape.end());
      std::size_t count = 1;
      for (hsize_t d : dims)
        count *= d;
      if (count != array.values.size()) {
        throw std::runtime_error(file.string() + ": dataset '" + name + "' has " +
                                 std::to_string(array.values.size()) + " values for its shape");
      }
      const Handle space{H5Screate_simple(int(dims.size()), dims.data(), nullptr), H5Sclose};
      const Handle properties{H5Pcreate(H5P_DATASET_CREATE), H5Pclose};
      if (count > 0) {
        H5Pset_chunk(properties.get(), int(dims.size()), dims.data());
        H5Pset_deflate(properties.get(), 4);
      }
      const Handle dataset{
          H5Dcreate2(f.get(), name.c_str(), array.integer ? H5T_STD_I64LE : H5T_IEEE_F32LE,
                     space.get(), links.get(), properties.get(), H5P_DEFAULT),
          H5Dclose};
      herr_t status = dataset.valid() ? 0 : -1;
      if (status == 0 && count > 0) {
        if (array.integer) {
          const std::vector<std::int64_t> values(array.values.begin(), array.values.end());
          status = H5Dwrite(dataset.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                            values.data());
        } else {
          const std::vector<float> values(array.values.begin(), array.values.end());
          status = H5Dwrite(dataset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                            values.data());
        }
      }
      if (status < 0)
        throw std::runtime_error(file.string() + ": cannot write dataset '" + name + "'");
    }
    if (!f.close()) throw std::runtime_error(file.string() + ": cannot write " + partial.string());
  });
}

}  // namespace snnsim
