#pragma once
// Small RAII and attribute helpers over the HDF5 C API, shared by the trace writer and reader.
#include <hdf5.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace snnsim::hdf5 {

/// An HDF5 identifier closed with its own close function when the handle goes away.
class Handle {
 public:
  Handle() = default;
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, -1)), close_(other.close_) {}
  Handle& operator=(Handle&& other) noexcept {
    reset();
    id_ = std::exchange(other.id_, -1);
    close_ = other.close_;
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset() {
    if (id_ >= 0 && close_ != nullptr) close_(id_);
    id_ = -1;
  }

 private:
  hid_t id_ = -1;
  herr_t (*close_)(hid_t) = nullptr;
};

/// Turns off HDF5's printing of its error stack: every failure is reported by an exception.
inline void silence_errors() {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

inline void write_attribute(hid_t object, const char* name, hid_t type, const void* value) {
  if (H5Aexists(object, name) > 0) H5Adelete(object, name);
  const Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  const Handle attribute(H5Acreate2(object, name, type, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                         H5Aclose);
  if (!attribute.valid() || H5Awrite(attribute.get(), type, value) < 0) {
    throw std::runtime_error(std::string("cannot write attribute '") + name + "'");
  }
}

/// A variable-length UTF-8 string attribute (h5py reads it as str).
inline void write_attribute(hid_t object, const char* name, const std::string& value) {
  const Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  const char* text = value.c_str();
  write_attribute(object, name, type.get(), &text);
}

inline void write_attribute(hid_t object, const char* name, double value) {
  write_attribute(object, name, H5T_NATIVE_DOUBLE, &value);
}
inline void write_attribute(hid_t object, const char* name, std::uint64_t value) {
  write_attribute(object, name, H5T_NATIVE_UINT64, &value);
}
inline void write_attribute(hid_t object, const char* name, std::int32_t value) {
  write_attribute(object, name, H5T_NATIVE_INT32, &value);
}

/// A 1-D array attribute of uint32.
inline void write_attribute(hid_t object, const char* name,
                            const std::vector<std::uint32_t>& values) {
  if (H5Aexists(object, name) > 0) H5Adelete(object, name);
  const hsize_t size = values.size();
  const Handle space(size > 0 ? H5Screate_simple(1, &size, nullptr) : H5Screate(H5S_NULL),
                     H5Sclose);
  const Handle attribute(
      H5Acreate2(object, name, H5T_NATIVE_UINT32, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (!attribute.valid() ||
      (size > 0 && H5Awrite(attribute.get(), H5T_NATIVE_UINT32, values.data()) < 0)) {
    throw std::runtime_error(std::string("cannot write attribute '") + name + "'");
  }
}

}  // namespace snnsim::hdf5
