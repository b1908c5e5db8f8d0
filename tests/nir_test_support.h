#pragma once
// Reading back a NIR file snnsim wrote with NIR's reference package (tools/reference/nir_dump.py),
// for the tests of the NIR writer and exporter.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "test_support.h"

namespace snnsim::testing {

/// What `nir.read` (type checks on) makes of `file`, as nir_dump.py prints it; nullopt when the nir
/// package is not installed (the caller skips, saying so). A file nir refuses fails the test.
inline std::optional<nlohmann::json> read_with_reference_nir(const std::filesystem::path& file) {
  if (!std::filesystem::exists(SNNSIM_NIR_PYTHON)) return std::nullopt;
  const std::string command = std::string(SNNSIM_NIR_PYTHON) + " " + SNNSIM_SOURCE_DIR +
                              "/tools/reference/nir_dump.py " + file.string() + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  std::string output;
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe))
    output.append(buffer, n);
  const int status = pclose(pipe);
  if (status != 0) {
    ADD_FAILURE() << "nir.read refused " << file << ": " << output;
    return nlohmann::json();
  }
  return nlohmann::json::parse(output);
}

inline constexpr const char* kNoReferenceNir =
    "the nir Python package is not installed (.venv-tools/, created by tools/setup.sh test)";

}  // namespace snnsim::testing
