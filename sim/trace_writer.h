#pragma once
// The HDF5 trace of a run, written as the run goes (layout: docs/trace-format.md).
//
// The file is created under a temporary name (FINAL + ".partial") and renamed to FINAL by
// finish(), so a run that fails never leaves a file that looks complete. Spikes and state samples
// are buffered in memory up to a fixed bound and appended to chunked, deflate-compressed,
// extendible datasets, so memory stays bounded whatever the duration. Every write to the file is
// followed by an HDF5 flush, so that the `.partial` file of a killed run is readable as it was
// after the last one. finish(false, ...) is the path of an interrupted run: what was recorded is
// flushed and kept, with `complete = false`.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sim/types.h"

namespace snnsim {

/// Root attributes of a trace.
struct TraceMetadata {
  double dt_s = 1e-4;       ///< time step, seconds
  double duration_s = 0.0;  ///< requested biological duration, seconds
  std::uint64_t seed = 0;
  std::string network_json;  ///< the network file as given (after parameter overrides)
  std::string network_path;  ///< where it was read from
  std::string backend;       ///< "cpu", "cuda"
  int threads = 1;
  /// Layer-graph runs (snnsim infer): timesteps per sample and samples; 0 for population runs.
  std::uint64_t timesteps = 0;
  std::uint64_t samples = 0;
};

/// One sampled state variable of one population.
struct StateProbeSpec {
  std::string variable;              ///< e.g. "v"
  std::string unit;                  ///< e.g. "mV"
  std::vector<NeuronIndex> neurons;  ///< which neurons, in the column order of the dataset
  std::uint64_t interval_steps = 1;  ///< one sample every this many steps, from step 0
};

struct TracePopulationSpec {
  std::string name;
  NeuronIndex size = 0;
  bool record_spikes = true;
  std::vector<StateProbeSpec> probes;
  /// Layer-graph runs: each spike also stores its sample (spikes/sample) and its value
  /// (spikes/value: level x amplitude of multi-level or signed spikes).
  bool spike_samples = false;
  bool spike_values = false;
  /// Layer-graph runs: the node's operator and per-sample shape (attributes op and shape).
  std::string layer_op;
  std::vector<std::uint32_t> layer_shape;
  /// Token gather / scatter nodes: the token rows kept or restored (attribute token_indices).
  std::vector<std::uint32_t> token_indices;
};

class TraceWriter {
 public:
  /// Creates FINAL.partial with the root attributes and every group and dataset. Throws
  /// std::runtime_error naming the file when it cannot be created.
  TraceWriter(std::filesystem::path final_path, const TraceMetadata& metadata,
              std::vector<TracePopulationSpec> populations);
  /// Without finish(): closes and deletes the temporary file (the failure path).
  ~TraceWriter();
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;

  /// Spikes of population `population` at `step` (indices ascending). Steps arrive in order
  /// (for layer graphs: in order within each sample). `sample` and `values` (one per index) are
  /// stored when the population was declared with spike_samples / spike_values.
  void append_spikes(std::size_t population, Step step, std::span<const NeuronIndex> indices,
                     std::uint32_t sample = 0, std::span<const float> values = {});
  /// Sets a numeric attribute of a population's group (per-layer counts of layer-graph runs).
  void set_population_attribute(std::size_t population, const std::string& name, double value);
  /// One sample row of probe `probe` of population `population` (values in the probe's neuron
  /// order). Called at the steps that are multiples of the probe's interval, in order.
  void append_state(std::size_t population, std::size_t probe, Step step,
                    std::span<const float> values);
  /// Writes the buffers to the file and flushes HDF5, so that the file on disk is readable and,
  /// in a population run, its steps_completed is `steps_completed`: the steps whose spikes and
  /// samples have all been appended. (A full buffer does the same by itself, with the steps
  /// before the one being appended.) Layer-graph traces keep steps_completed for finish().
  void flush(Step steps_completed);
  /// Flushes, writes `complete`, `steps_completed` and the per-population spike counts, closes the
  /// file and renames it to its final name.
  void finish(bool complete, Step steps_completed);

  const std::filesystem::path& final_path() const;
  const std::filesystem::path& temporary_path() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace snnsim
