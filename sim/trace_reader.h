#pragma once
// Reading snnsim traces (docs/trace-format.md): for tests, `snnsim trace` and users' C++ tools.
// A file that is missing, not HDF5, damaged, or not a snnsim trace gives a std::runtime_error with
// one line naming the file and what is wrong.
//
// A trace is untrusted input: what the reader hands out has been checked against the format, so
// that its users need no checks of their own. Population sizes are at least 1 (and, for layers,
// the elements of their shape); every spike is checked as it is read (neuron below the size,
// step below T or a complete run's steps_completed and, in population traces, in time order,
// sample below the trace's samples, finite value); state headers have an interval of at least one
// step, neurons of the population, and rows within the run. A violation is one line naming the
// file, the dataset and the position in it.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sim/types.h"

namespace snnsim {

struct TraceSpikes {
  std::vector<Step> steps;
  std::vector<NeuronIndex> indices;
};

/// A run of consecutive spikes of one population, in file order (time order), as streamed by
/// TraceReader::for_each_spike_block. The spans are valid during the callback only.
struct SpikeBlock {
  std::uint64_t first = 0;  ///< position of the block's first spike in the population's list
  std::span<const Step> steps;
  std::span<const NeuronIndex> indices;
  std::span<const std::uint32_t> samples;  ///< layer-graph traces; empty otherwise
  std::span<const float> values;           ///< when the trace stores spike values; else empty
};

struct TraceState {
  std::vector<NeuronIndex> neurons;  ///< column order
  std::uint64_t interval_steps = 1;
  std::uint64_t first_step = 0;  ///< step of row 0
  std::string unit;
  std::size_t samples = 0;
  std::vector<float> values;  ///< row-major [samples][neurons]
};

class TraceReader {
 public:
  explicit TraceReader(const std::filesystem::path& path);
  ~TraceReader();

  /// The file's path, as given (for messages).
  const std::string& path() const;
  /// Whether the root has attribute `name` (e.g. `kind`, absent from older traces).
  bool has_attribute(const std::string& name) const;
  std::string attribute_string(const std::string& name) const;
  double attribute_double(const std::string& name) const;
  std::uint64_t attribute_uint(const std::string& name) const;
  /// False for a run that was interrupted, or killed (a `.partial` file), or is still running.
  bool complete() const;
  /// Whether the root attribute `kind` is "layer_graph" (absent in older traces: populations).
  bool layer_graph() const;

  std::vector<std::string> population_names() const;
  /// At least 1: a size of 0 is refused.
  NeuronIndex population_size(const std::string& population) const;
  /// All spikes at once: for small traces and tests. Analyses stream (for_each_spike_block).
  TraceSpikes read_spikes(const std::string& population) const;
  /// False when the population's spikes were not recorded.
  bool has_spikes(const std::string& population) const;
  /// Spikes recorded for the population (the length of its spike datasets).
  std::uint64_t spike_count(const std::string& population) const;
  /// Streams the population's spikes in file order, at most `block_size` per call of `visit`:
  /// memory stays bounded by the block, whatever the file's size. Spikes [first, last) only.
  /// Each block is checked (see the top of this file) before `visit` sees it.
  void for_each_spike_block(const std::string& population,
                            const std::function<void(const SpikeBlock&)>& visit,
                            std::size_t block_size = std::size_t{1} << 20, std::uint64_t first = 0,
                            std::uint64_t last = ~std::uint64_t{0}) const;
  /// The population group's attribute, e.g. a layer's "op", "firing_rate", "acs".
  bool has_population_attribute(const std::string& population, const std::string& name) const;
  std::string population_attribute_string(const std::string& population,
                                          const std::string& name) const;
  double population_attribute_double(const std::string& population, const std::string& name) const;
  /// A uint32 array attribute, e.g. a layer's "shape".
  std::vector<std::uint32_t> population_attribute_uints(const std::string& population,
                                                        const std::string& name) const;
  std::vector<std::string> state_variables(const std::string& population) const;
  TraceState read_state(const std::string& population, const std::string& variable) const;
  /// The same without the values: neurons, interval, unit and the number of samples (rows).
  TraceState read_state_header(const std::string& population, const std::string& variable) const;
  /// Rows [first, first + count) of the given columns (ascending column positions) into `out`,
  /// row-major: a block of a state dataset, for readers that must not hold it all.
  void read_state_rows(const std::string& population, const std::string& variable,
                       std::uint64_t first, std::uint64_t count,
                       const std::vector<std::uint64_t>& columns, std::vector<float>& out) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace snnsim
