#pragma once
// Writing a trace's spikes in formats other tools read (`snnsim trace export`,
// docs/trace-analysis.md, "export"):
// - CSV: one line per spike, `population,time_s,neuron` (`population,timestep,neuron,sample,value`
//   for layer graphs; a `value` column too when a population trace stores spike values);
// - NIR data: NIR's NIRGraphData of EventData (nir.write_data / nir.read_data, in NIR's main branch
//   since 2026-01), one node per population, observable "spikes".
//
// Both stream the trace block by block. NIR's per-sample event arrays are padded to the largest
// sample's count, so that export reads twice: once to count, once to write with hyperslabs.
// Output goes to FILE.partial, renamed to FILE on success and removed on failure: no
// half-written file under the final name.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "analysis/trace_selection.h"
#include "sim/trace_reader.h"

namespace snnsim::analysis {

enum class ExportFormat { csv, nir_data };

struct ExportOptions {
  ExportFormat format = ExportFormat::csv;
  std::vector<PopulationInfo> populations;  ///< exported, in this order (select_populations)
  StepWindow window;                        ///< spikes of these steps only
  /// Called as spikes are read: (spikes read so far, spikes to read in all). May be empty.
  std::function<void(std::uint64_t, std::uint64_t)> progress;
};

/// What was written, for the closing report.
struct ExportResult {
  std::uint64_t spikes = 0;
  std::size_t populations = 0;  ///< exported: those with recorded spikes
};

/// Writes `output`. Throws std::runtime_error (one line naming the trace or the output) when the
/// trace cannot be read or the output written; `output` is then left as it was.
ExportResult export_trace(const TraceReader& reader, const TraceInfo& info,
                          const ExportOptions& options, const std::filesystem::path& output);

}  // namespace snnsim::analysis
