#pragma once
// Output files are written under a temporary name and renamed into place on success, so a failed
// or interrupted write never leaves a half-written file under the name a user asked for.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
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

/// Writes `text` to `path`. Throws std::runtime_error naming the file and the reason (a full
/// disk, a file-size limit) when any of it could not be written.
inline void write_text_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();  // the text may be buffered until here: only now is the write known to be whole
  if (!out)
    throw std::runtime_error("cannot write '" + path.string() + "': " + std::strerror(errno));
}

/// Writes `text` to `output` through OUTPUT.partial, as write_text_file.
inline void write_text_atomically(const std::filesystem::path& output, const std::string& text) {
  write_atomically(output,
                   [&](const std::filesystem::path& partial) { write_text_file(partial, text); });
}

}  // namespace snnsim
