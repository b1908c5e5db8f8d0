#include "sim/hdf5_util.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <new>
#include <set>
#include <tuple>
#include <type_traits>

namespace snnsim::hdf5 {
namespace {

/// How long the check may take: it reads only the structure and the strings, which takes
/// milliseconds for any file snnsim or a NIR tool writes.
constexpr unsigned kCheckSeconds = 5;

/// How much memory above what the process holds the check may allocate: HDF5 allocates what a
/// damaged length asks for before it finds that the bytes are not there.
constexpr std::uint64_t kCheckMemoryBytes = std::uint64_t{1} << 30;

/// Arrays bigger than this are not read by the check: numbers cannot hurt the reader, and an
/// array of strings this large is not in any of snnsim's formats.
constexpr std::size_t kLargestCheckedRead = std::size_t{64} << 20;

/// How the child ends when HDF5 reported a failed allocation, or could not list a group (its
/// exit status; 0 is "read").
constexpr int kOutOfMemoryStatus = 3;
constexpr int kUnlistableGroupStatus = 4;

/// What the child of check_readable shares with the parent: the object and attribute it is
/// reading, for the parent's message should it fail there.
struct ChildReport {
  char text[1024];
  void set(const std::string& place) {
    const std::size_t length = std::min(place.size(), sizeof text - 1);
    std::memcpy(text, place.data(), length);
    text[length] = '\0';
  }
};

/// Reads every value of an attribute or dataset of string or variable-length type (the ones
/// HDF5 looks up in the file's global heap), the way the readers will. Failures are left to
/// the readers. What HDF5 allocates for the strings is not reclaimed: the child process that
/// reads them ends right after.
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

herr_t read_attribute(hid_t object, const char* name, const H5A_info_t*, void* report) {
  ChildReport& reading = *static_cast<ChildReport*>(report);
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

/// The walk of the child: the report and the objects already read (a damaged file can link a
/// group into itself).
struct Walk {
  ChildReport& report;
  std::set<haddr_t> seen;
};

/// Reads the attributes of the object at `place` and its strings or, for a group, every object
/// it links to, in the order of names as the readers list them (HDF5 sorts a group's links for
/// it, which a damaged link table does not survive). A group whose links HDF5 cannot list ends
/// the check: the readers look names up in it, through the same damaged index, and a lookup of
/// a name the listing did not reach can crash.
void read_object(hid_t object, const std::string& place, Walk& walk) {
  H5O_info_t info;
  if (H5Oget_info2(object, &info, H5O_INFO_BASIC) < 0 || !walk.seen.insert(info.addr).second) {
    return;
  }
  walk.report.set(place);
  H5Aiterate2(object, H5_INDEX_NAME, H5_ITER_INC, nullptr, read_attribute, &walk.report);
  if (info.type == H5O_TYPE_DATASET) {
    const Handle type(H5Dget_type(object), H5Tclose);
    const Handle space(H5Dget_space(object), H5Sclose);
    read_heap_values(type.get(), space.get(), [&](hid_t memory_type, void* buffer) {
      return H5Dread(object, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer);
    });
  }
  if (info.type != H5O_TYPE_GROUP) return;
  const auto read_link = [](hid_t group, const char* name, const H5L_info_t* link, void* data) {
    Walk& walk = *static_cast<Walk*>(data);
    const std::string owner = walk.report.text;
    if (link->type == H5L_TYPE_HARD) {
      const Handle member(H5Oopen(group, name, H5P_DEFAULT), H5Oclose);
      if (member.valid())
        read_object(member.get(), (owner == "/" ? "/" : owner + "/") + name, walk);
    }
    walk.report.set(owner);
    return herr_t{0};
  };
  if (H5Literate(object, H5_INDEX_NAME, H5_ITER_INC, nullptr, read_link, &walk) < 0) {
    walk.report.set(place);
    _exit(kUnlistableGroupStatus);
  }
}

/// HDF5's error handler in the child: a failed allocation anywhere in the failed call ends the
/// check there (the report still names the object being read).
herr_t end_on_failed_allocation(hid_t stack, void*) {
  H5Ewalk2(
      stack, H5E_WALK_DOWNWARD,
      [](unsigned, const H5E_error2_t* error, void*) -> herr_t {
        if (error->min_num == H5E_NOSPACE || error->min_num == H5E_CANTALLOC) {
          _exit(kOutOfMemoryStatus);
        }
        return 0;
      },
      nullptr);
  return 0;
}

/// Bytes of address space the process holds now (/proc/self/statm counts pages).
std::uint64_t address_space_bytes() {
  std::uint64_t pages = 0;
  std::ifstream("/proc/self/statm") >> pages;
  return pages * std::uint64_t(sysconf(_SC_PAGESIZE));
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
constexpr bool kAddressSanitizer = __has_feature(address_sanitizer);
#else
constexpr bool kAddressSanitizer = false;
#endif

/// The child's work: limits set, the file's structure read, the outcome as the exit status.
[[noreturn]] void check_in_child(const std::filesystem::path& path, ChildReport& report) {
  const rlimit no_core{0, 0};  // a crash here is expected: no core file
  setrlimit(RLIMIT_CORE, &no_core);
  // The deadline: SIGALRM's default action ends the child, whatever the parent did with it.
  sigset_t alarm_signal;
  sigemptyset(&alarm_signal);
  sigaddset(&alarm_signal, SIGALRM);
  sigprocmask(SIG_UNBLOCK, &alarm_signal, nullptr);
  signal(SIGALRM, SIG_DFL);
  alarm(kCheckSeconds);
  // AddressSanitizer reserves terabytes of address space up front, so under it the limit would
  // stop everything; the fuzzers bound allocations with its max_allocation_size_mb instead
  // (tools/fuzz.sh).
  if (!kAddressSanitizer) {
    const rlim_t limit = address_space_bytes() + kCheckMemoryBytes;
    const rlimit memory{limit, limit};
    setrlimit(RLIMIT_AS, &memory);
  }
  H5Eset_auto2(H5E_DEFAULT, end_on_failed_allocation, nullptr);
  const Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (file.valid()) {
    Walk walk{report, {}};
    read_object(file.get(), "/", walk);
  }
  _exit(0);  // not exit(): the parent's at-exit functions are the parent's
}

/// Why a child that did not end with status 0 failed, as the end of the parent's message.
std::string child_failure(int status) {
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
    return "the HDF5 library does not finish reading it within " + std::to_string(kCheckSeconds) +
           " s";
  }
  if (WIFSIGNALED(status)) {
    return std::string("the HDF5 library crashes reading it: ") + strsignal(WTERMSIG(status));
  }
  if (WEXITSTATUS(status) == kUnlistableGroupStatus) return "the group's links cannot be listed";
  if (WEXITSTATUS(status) == kOutOfMemoryStatus) {
    return "the HDF5 library needs more than " + std::to_string(kCheckMemoryBytes >> 30) +
           " GiB to read it";
  }
  return "the HDF5 library fails reading it, exit status " + std::to_string(WEXITSTATUS(status));
}

}  // namespace

void check_readable(const std::filesystem::path& path) {
  silence_errors();
  struct stat file;
  if (stat(path.c_str(), &file) != 0) return;  // the reader says why it cannot open it
  // The same file unchanged: its inode (a file replaced by renaming has a new one) and its
  // size and times, which a rewrite in place changes unless it lands in the same clock tick.
  const auto checked_file =
      std::make_tuple(path.string(), file.st_ino, file.st_size, file.st_mtim.tv_sec,
                      file.st_mtim.tv_nsec, file.st_ctim.tv_sec, file.st_ctim.tv_nsec);
  static std::mutex mutex;
  static std::set<std::remove_const_t<decltype(checked_file)>> checked;
  const std::lock_guard lock(mutex);
  if (checked.count(checked_file) > 0) return;
  void* shared =
      mmap(nullptr, sizeof(ChildReport), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) return;  // read without the check rather than not at all
  auto* report = new (shared) ChildReport{};
  report->set("/");
  const pid_t child = fork();
  if (child == 0) check_in_child(path, *report);
  int status = 0;
  while (child > 0 && waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  const std::string where = report->text;
  munmap(shared, sizeof(ChildReport));
  if (child > 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
    throw std::runtime_error(path.string() + ": " + where + ": damaged HDF5 file (" +
                             child_failure(status) + ")");
  }
  checked.insert(checked_file);
}

void check_declared_size(hid_t dataset, std::uint64_t count, const std::string& where) {
  constexpr std::uint64_t kLargestCompressionRatio = 1032;  // deflate's
  const Handle type(H5Dget_type(dataset), H5Tclose);
  const Handle creation(H5Dget_create_plist(dataset), H5Pclose);
  const hid_t file = H5Iget_file_id(dataset);
  hsize_t file_size = 0;
  const bool sized = file >= 0 && H5Fget_filesize(file, &file_size) >= 0;
  if (file >= 0) H5Fclose(file);
  const std::uint64_t element = type.valid() ? H5Tget_size(type.get()) : 0;
  if (!sized || element == 0 || !creation.valid()) {
    throw std::runtime_error(where + ": cannot read its layout (damaged file?)");
  }
  const std::uint64_t stored = std::min<std::uint64_t>(H5Dget_storage_size(dataset), file_size);
  const std::uint64_t ratio = H5Pget_nfilters(creation.get()) > 0 ? kLargestCompressionRatio : 1;
  if (count > 0 && (stored == 0 || count / ratio > stored / element + 1)) {
    throw std::runtime_error(where + ": declares " + std::to_string(count) +
                             " elements but the file holds " + std::to_string(stored) +
                             " bytes of them (damaged file?)");
  }
}

}  // namespace snnsim::hdf5
