#pragma once
// File kinds are told by extension, in any case (".H5" is ".h5").
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <string>

namespace snnsim {

/// The extension of `path` in lower case, with its dot (".npy"), or empty.
inline std::string lowercase_extension(const std::filesystem::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension;
}

}  // namespace snnsim
