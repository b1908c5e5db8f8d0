#pragma once
// Output files are written under a temporary name and renamed into place on success, so a failed
// or interrupted write never leaves a half-written file under the name a user asked for.
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace snnsim {

/// Calls `write(partial)` to write OUTPUT.partial, then renames it to `output`. On any failure the
/// partial file is removed and the error passed on.
template <class Write>
void write_atomically(const std::filesystem::path& output, Write&& write) {
  const std::filesystem::path partial = output.string() + ".partial";
  try {
    write(partial);
    std::error_code error;
    std::filesystem::rename(partial, output, error);
    if (error) {
      throw std::runtime_error("cannot rename '" + partial.string() + "' to '" + output.string() +
                               "': " + error.message());
    }
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(partial, ignored);
    throw;
  }
}

}  // namespace snnsim
