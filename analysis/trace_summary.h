#pragma once
// `snnsim trace summary`: statistics of every selected population (or layer) of a trace, streamed
// block by block (analysis/spike_statistics.h has the definitions), and its JSON form.
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "analysis/spike_statistics.h"
#include "analysis/trace_selection.h"

namespace snnsim::analysis {

/// A layer of a layer-graph trace: its activity in the window, and the counts `snnsim infer`
/// stored (over every timestep and sample; absent when the trace lacks them).
struct LayerSummary {
  /// False for layers without a recorded spike anywhere in the trace: analog layers (convolutions,
  /// sums), whose spike datasets stay empty. Their rates are not reported.
  bool spiking = false;
  LayerActivity activity;
  std::optional<double> acs, macs, energy_pj;
};

struct PopulationSummary {
  PopulationInfo population;
  /// Population traces whose spikes were recorded.
  std::optional<SpikeStatistics> spikes;
  /// Layer-graph traces.
  std::optional<LayerSummary> layer;
};

struct Summary {
  TraceInfo trace;
  StepWindow window;
  Step bin_steps = 1;  ///< population traces: the window of the binned counts
  std::vector<PopulationSummary> populations;
  /// Layer graphs: sums over the selected layers of the stored counts.
  double total_acs = 0, total_macs = 0, total_energy_pj = 0;
};

/// Called as spikes are read: `done` of `total` spikes of all selected populations.
using SummaryProgress = std::function<void(std::uint64_t done, std::uint64_t total)>;

/// Statistics of `populations` in `window`, with spike counts binned by `bin_steps` steps.
/// Throws std::runtime_error (one line, naming the trace) when the file cannot be read.
Summary summarize(const TraceReader& reader, const TraceInfo& info,
                  const std::vector<PopulationInfo>& populations, const StepWindow& window,
                  Step bin_steps, const SummaryProgress& progress = {});

/// The JSON form (layout in docs/trace-analysis.md); statistics without a value are null. Keys keep
/// the documented order.
nlohmann::ordered_json summary_json(const Summary& summary);

}  // namespace snnsim::analysis
