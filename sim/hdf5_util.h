#pragma once
// Small RAII and attribute helpers over the HDF5 C API, shared by every reader and writer of
// HDF5 files (traces, NIR files, datasets and weights).
#include <hdf5.h>

#include <cstdint>
#include <filesystem>
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
  /// Closes the object, ignoring a failure.
  void reset() { close(); }
  /// Closes the object; false when HDF5 reports a failure (for a file written to: its last data
  /// or metadata could not be written). It is never closed again: HDF5 1.10 frees a file whose
  /// close failed, and a second close would crash.
  bool close() {
    const bool closed = id_ < 0 || close_ == nullptr || close_(id_) >= 0;
    id_ = -1;
    return closed;
  }

 private:
  hid_t id_ = -1;
  herr_t (*close_)(hid_t) = nullptr;
};

/// Turns off HDF5's printing of its error stack: every failure is reported by an exception.
/// Every function of snnsim that calls HDF5 calls this first.
///
/// The first call also turns off HDF5's clean-up at exit (which works only before the library's
/// first call). HDF5 1.10 keeps a file whose close failed (a full disk, a file-size limit)
/// registered but frees it, and that clean-up closes it again and crashes. Every file snnsim
/// opens is closed explicitly, and a Handle never retries a failed close, so nothing is lost.
inline void silence_errors() {
  static const bool exit_cleanup_off = H5dont_atexit() >= 0;
  (void)exit_cleanup_off;
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

/// Checks that HDF5 can read the structure of `path` (every group, every attribute, every
/// string) without crashing, hanging or exhausting memory, before a reader opens it. HDF5 1.10
/// trusts what it reads from disk: a damaged byte in a string's global-heap entry or in a
/// group's index can send it outside its buffers, where it dies by a signal instead of
/// returning an error, into a loop, or into an allocation of gigabytes (see
/// docs/trace-format.md, "Damaged files"). So the check runs in a forked child process with a
/// deadline and a memory limit; when the child does not finish cleanly, this throws one line
/// naming the file and the object the child was reading. Failures that HDF5 reports as errors
/// are left to the reader, whose messages say more. Each file is checked once per process (by
/// name, size and modification time).
void check_readable(const std::filesystem::path& path);

/// Throws one line (`where`: the file and dataset) unless the file can hold the `count`
/// elements that numeric dataset `dataset` declares: a reader calls it before it allocates
/// for them. Without filters the file must store every byte; compressed, at least one byte in
/// 1,032 (deflate's largest ratio). A damaged dataspace or one never written would otherwise
/// make the reader allocate what it claims, gigabytes for a few bytes of file.
void check_declared_size(hid_t dataset, std::uint64_t count, const std::string& where);

}  // namespace snnsim::hdf5
