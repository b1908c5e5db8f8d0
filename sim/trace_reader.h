#pragma once
// Reading snnsim traces (docs/trace-format.md): for tests, `snnsim trace` and users' C++ tools.
// A file that is missing, not HDF5, damaged, or not a snnsim trace gives a std::runtime_error with
// one line naming the file and what is wrong.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "sim/types.h"

namespace snnsim {

struct TraceSpikes {
  std::vector<Step> steps;
  std::vector<NeuronIndex> indices;
};

struct TraceState {
  std::vector<NeuronIndex> neurons;  ///< column order
  std::uint64_t interval_steps = 1;
  std::string unit;
  std::size_t samples = 0;
  std::vector<float> values;  ///< row-major [samples][neurons]
};

class TraceReader {
 public:
  explicit TraceReader(const std::filesystem::path& path);
  ~TraceReader();

  std::string attribute_string(const std::string& name) const;
  double attribute_double(const std::string& name) const;
  std::uint64_t attribute_uint(const std::string& name) const;
  /// False for a run that was interrupted.
  bool complete() const;

  std::vector<std::string> population_names() const;
  NeuronIndex population_size(const std::string& population) const;
  TraceSpikes read_spikes(const std::string& population) const;
  std::vector<std::string> state_variables(const std::string& population) const;
  TraceState read_state(const std::string& population, const std::string& variable) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace snnsim
