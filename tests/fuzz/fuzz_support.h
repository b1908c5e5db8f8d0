#pragma once
// What every fuzz harness shares (docs/fuzzing.md): the input written to a file, for readers that
// take a path, and the rule that decides what is a finding. A reader may refuse any input, but
// only with its documented exception (std::runtime_error or a subclass) carrying one non-empty
// line. Any other exception, a crash, a sanitizer report, a timeout or running out of memory is a
// finding: the harness aborts, or libFuzzer stops, and the input is saved.
#include <hdf5.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace snnsim::fuzz {

/// A folder of this process's own (in /dev/shm when there is one: no disk writes per input),
/// removed at exit.
inline const std::filesystem::path& scratch_folder() {
  static const std::filesystem::path folder = [] {
    const std::filesystem::path shm = "/dev/shm";
    const std::filesystem::path base =
        std::filesystem::is_directory(shm) ? shm : std::filesystem::temp_directory_path();
    std::filesystem::path path = base / ("snnsim-fuzz-" + std::to_string(getpid()));
    std::filesystem::create_directories(path);
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(scratch_folder(), ignored);
    });
    return path;
  }();
  return folder;
}

/// Writes the input to `name` in the scratch folder and returns its path. The input is written
/// to a temporary name and renamed, so that each input is a new file (a new inode): the HDF5
/// readers check a file's structure once per process (hdf5::check_readable), and a rewrite in
/// place within one clock tick and of the same size would look unchanged.
inline std::filesystem::path write_input(const std::uint8_t* data, std::size_t size,
                                         const std::string& name) {
  const std::filesystem::path path = scratch_folder() / name;
  const std::filesystem::path written = scratch_folder() / (name + ".new");
  std::ofstream out(written, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  std::error_code renamed;
  if (out) std::filesystem::rename(written, path, renamed);
  if (!out || renamed) {
    std::fprintf(stderr, "fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
  return path;
}

/// Runs `read` on one input. A std::runtime_error with one non-empty line is the reader refusing
/// the input, as documented; anything else that leaves `read` is a finding.
template <typename Read>
void expect_clean_refusal(Read&& read) {
  try {
    read();
  } catch (const std::runtime_error& error) {
    const std::string message = error.what();
    if (message.empty() || message.find('\n') != std::string::npos) {
      std::fprintf(stderr, "fuzz: the refusal is not one line: \"%s\"\n", message.c_str());
      std::abort();
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "fuzz: undocumented exception: %s\n", error.what());
    std::abort();
  }
}

/// Per-process set-up for harnesses of HDF5 readers: HDF5's error stack printing off (the readers
/// turn it off too, but only once they run; a damaged file must not flood the fuzzer's log).
inline void silence_hdf5() {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

}  // namespace snnsim::fuzz
