#pragma once
// Opening a trace for analysis (`snnsim trace ...`) and resolving what the command line selects:
// the run's metadata, the populations (or layers) asked for, and a window of time steps.
//
// Every error is a std::runtime_error with one line that names the trace and what is wrong, so a
// command prints it after its own prefix and exits.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sim/trace_reader.h"
#include "sim/types.h"

namespace snnsim::analysis {

enum class TraceKind { population, layer_graph };

/// "population" or "layer_graph", as in the trace's `kind` attribute.
const char* trace_kind_name(TraceKind kind);

/// The run's metadata (root attributes, docs/trace-format.md).
struct TraceInfo {
  std::string path;
  TraceKind kind = TraceKind::population;
  double dt_s = 0;        ///< 1 for layer graphs (no physical time step)
  double duration_s = 0;  ///< requested duration; T for layer graphs
  /// Steps the trace covers: steps_completed, which the writer keeps current at every flush, so
  /// that a `.partial` file of a killed run covers the run up to its last flush; for such a file
  /// of an older snnsim (steps_completed = 0) one past the last recorded spike step; T for layer
  /// graphs.
  std::uint64_t steps = 0;
  std::uint64_t samples = 0;  ///< layer graphs: samples run; 0 for population runs
  std::uint64_t seed = 0;
  std::string version;  ///< snnsim_version of the writer
  std::string backend;  ///< "cpu", "cuda"
  bool complete = false;

  /// Seconds covered: steps * dt (timesteps for layer graphs).
  double covered_s() const { return static_cast<double>(steps) * dt_s; }
};

/// Reads the root attributes. Throws (one line) when one is missing or malformed.
TraceInfo read_trace_info(const TraceReader& reader);

/// One population of a population trace or one layer of a layer-graph trace.
struct PopulationInfo {
  std::string name;
  NeuronIndex size = 0;  ///< neurons; for layers, elements per sample
  bool has_spikes = false;
  std::uint64_t spikes = 0;  ///< spikes recorded (0 without spikes)
  /// Layer graphs: the layer's operator (e.g. "lif") and per-sample shape; empty otherwise.
  std::string op;
  std::vector<std::uint32_t> shape;
};

/// The populations named (in the order given, each once), or all of them (in the order the
/// network file declares them: populations, or layers from input to output) when `names` is
/// empty. An unknown name throws "TRACE: no population 'X'; it has A, B, C".
std::vector<PopulationInfo> select_populations(const TraceReader& reader,
                                               const std::vector<std::string>& names);

/// Steps [first, last) of a trace: a spike at step s is inside when first <= s < last. For layer
/// graphs the steps are timesteps (0 to T - 1).
struct StepWindow {
  Step first = 0;
  Step last = 0;
  Step steps() const { return last - first; }
};

/// The steps whose start time lies in [from, to): seconds for population traces, timesteps for
/// layer graphs (whose dt is 1). Absent bounds are the start and end of what the trace covers.
/// Throws (one line, naming the trace) unless 0 <= from < to <= the end of the trace.
StepWindow window_of(const TraceInfo& info, std::optional<double> from, std::optional<double> to);

/// window_of from the text of --from / --to (empty: absent): times such as "200ms" or "1 s" for
/// population traces, whole timesteps such as "2" for layer graphs. Throws (one line) naming the
/// option for text that is neither.
StepWindow window_from_options(const TraceInfo& info, const std::string& from,
                               const std::string& to);

/// Positions [first, last) in the population's spike list that can hold spikes of `window`. Found
/// by bisection in population traces (spikes are in time order); every spike of a layer-graph
/// trace (ordered by batch first), whose readers must still test each spike's step.
struct SpikeRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
};
SpikeRange spike_range(const TraceReader& reader, const TraceInfo& info,
                       const PopulationInfo& population, const StepWindow& window);

/// Checks, before it is allocated, a table that an analysis sizes by what the trace declares
/// (neurons, samples) rather than by what it holds: a damaged file may declare billions of
/// neurons and no spike. Throws (one line naming the trace and `table`, e.g. "the statistics of
/// population 'E'") when `count` entries of `bytes_each` bytes exceed the analysis memory limit.
void check_table_memory(const TraceInfo& info, std::uint64_t count, std::uint64_t bytes_each,
                        const std::string& table);

/// The analysis memory limit: the machine's physical memory unless set here (the fuzzers set a
/// small one, below their sanitizer's allocation limit).
void set_analysis_memory_limit(std::uint64_t bytes);

/// Spikes read so far over every pass of an analysis (several populations, two files), reported
/// as (done, total) to `report`, e.g. a progress line; an empty `report` is fine.
class ProgressCounter {
 public:
  ProgressCounter(const std::function<void(std::uint64_t, std::uint64_t)>& report,
                  std::uint64_t total)
      : report_(report), total_(total) {}
  void add(std::uint64_t spikes) {
    done_ += spikes;
    if (report_) report_(done_, total_);
  }

 private:
  const std::function<void(std::uint64_t, std::uint64_t)>& report_;
  std::uint64_t total_;
  std::uint64_t done_ = 0;
};

}  // namespace snnsim::analysis
