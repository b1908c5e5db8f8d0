#pragma once
// Small RAII and attribute helpers over the HDF5 C API, shared by every reader and writer of
// HDF5 files (traces, NIR files, datasets and weights).
#include <hdf5.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <new>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
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

namespace detail {

/// Where the child of check_readable is, in memory shared with the parent: the object and
/// attribute it is reading, for the parent's message should it crash there.
struct ReadingPlace {
  char text[1024];
  void set(const std::string& place) {
    const std::size_t length = std::min(place.size(), sizeof text - 1);
    std::memcpy(text, place.data(), length);
    text[length] = '\0';
  }
};

/// Arrays bigger than this are not read by the check: numbers cannot hurt the reader, and an
/// array of strings this large is not in any of snnsim's formats.
constexpr std::size_t kLargestCheckedRead = std::size_t{64} << 20;

/// Reads every value of an attribute or dataset of string or variable-length type (the ones
/// HDF5 looks up in the file's global heap), the way the readers will. Failures are left to
/// the readers: only a crash matters here. What HDF5 allocates for the strings is not
/// reclaimed: the child process that reads them ends right after.
template <class Read>
void read_heap_values(hid_t type, hid_t space, const Read& read) {
  if (H5Tdetect_class(type, H5T_STRING) <= 0 && H5Tdetect_class(type, H5T_VLEN) <= 0) return;
  const Handle memory_type(H5Tget_native_type(type, H5T_DIR_DEFAULT), H5Tclose);
  const hssize_t count = H5Sget_simple_extent_npoints(space);
  const std::size_t size = memory_type.valid() ? H5Tget_size(memory_type.get()) : 0;
  if (count <= 0 || size == 0 || std::size_t(count) > kLargestCheckedRead / size) return;
  std::vector<unsigned char> buffer(std::size_t(count) * size);
  read(memory_type.get(), buffer.data());
}

inline herr_t read_attribute(hid_t object, const char* name, const H5A_info_t*, void* place) {
  ReadingPlace& reading = *static_cast<ReadingPlace*>(place);
  const std::string owner = reading.text;
  reading.set(owner + ": attribute '" + name + "'");
  const Handle attribute(H5Aopen(object, name, H5P_DEFAULT), H5Aclose);
  if (attribute.valid()) {
    const Handle type(H5Aget_type(attribute.get()), H5Tclose);
    const Handle space(H5Aget_space(attribute.get()), H5Sclose);
    read_heap_values(type.get(), space.get(), [&](hid_t memory_type, void* buffer) {
      return H5Aread(attribute.get(), memory_type, buffer);
    });
  }
  reading.set(owner);
  return 0;
}

inline herr_t read_object(hid_t root, const char* name, const H5O_info_t* info, void* place) {
  ReadingPlace& reading = *static_cast<ReadingPlace*>(place);
  reading.set(name[0] == '.' ? "/" : "/" + std::string(name));
  const Handle object(H5Oopen(root, name, H5P_DEFAULT), H5Oclose);
  if (!object.valid()) return 0;
  H5Aiterate2(object.get(), H5_INDEX_NAME, H5_ITER_INC, nullptr, read_attribute, place);
  if (info->type == H5O_TYPE_DATASET) {
    const Handle type(H5Dget_type(object.get()), H5Tclose);
    const Handle space(H5Dget_space(object.get()), H5Sclose);
    read_heap_values(type.get(), space.get(), [&](hid_t memory_type, void* buffer) {
      return H5Dread(object.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer);
    });
  }
  return 0;
}

}  // namespace detail

/// Checks that HDF5 can read the structure of `path` (every group, every attribute, every
/// string) without crashing, before a reader opens it. HDF5 1.10 trusts what it reads from
/// disk: a damaged byte in a string's global-heap entry or in a group's index can send it
/// outside its buffers, where it dies by a signal instead of returning an error (see
/// docs/trace-format.md, "Damaged files"). So the check runs in a forked child process; when
/// the child dies, this throws one line naming the file and the object the child was reading.
/// Failures that HDF5 reports as errors are left to the reader, whose messages say more. Each
/// file is checked once per process (by name, size and modification time).
inline void check_readable(const std::filesystem::path& path) {
  silence_errors();
  std::error_code error;
  const auto checked_file =
      std::make_tuple(path.string(), std::filesystem::file_size(path, error),
                      std::filesystem::last_write_time(path, error).time_since_epoch().count());
  static std::mutex mutex;
  static std::set<std::remove_const_t<decltype(checked_file)>> checked;
  const std::lock_guard lock(mutex);
  if (error || checked.count(checked_file) > 0) return;
  void* shared = mmap(nullptr, sizeof(detail::ReadingPlace), PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) return;  // read without the check rather than not at all
  auto* place = new (shared) detail::ReadingPlace{};
  place->set("/");
  const pid_t child = fork();
  if (child == 0) {
    const rlimit no_core{0, 0};  // a crash here is expected: no core file
    setrlimit(RLIMIT_CORE, &no_core);
    const Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
    if (file.valid()) {
      H5Ovisit2(file.get(), H5_INDEX_NAME, H5_ITER_INC, detail::read_object, place, H5O_INFO_BASIC);
    }
    _exit(0);  // not exit(): the parent's buffers and at-exit functions are the parent's
  }
  int status = 0;
  while (child > 0 && waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  const std::string where = place->text;
  munmap(shared, sizeof(detail::ReadingPlace));
  if (child > 0 && WIFSIGNALED(status)) {
    throw std::runtime_error(path.string() + ": " + where +
                             ": damaged HDF5 file (the HDF5 library crashes reading it: " +
                             strsignal(WTERMSIG(status)) + ")");
  }
  checked.insert(checked_file);
}

}  // namespace snnsim::hdf5
