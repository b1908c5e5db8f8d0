// snnsim trace export TRACE.h5 --format csv|nirdata -o FILE: a trace's spikes for other tools.
#include "analysis/trace_export.h"

#include <cstdio>
#include <filesystem>

#include "tools/snnsim/cli_options.h"
#include "tools/snnsim/commands.h"
#include "tools/snnsim/number_format.h"
#include "tools/snnsim/output_paths.h"
#include "tools/snnsim/read_progress.h"
#include "tools/snnsim/trace_commands.h"

namespace snnsim::cli {

namespace {

using namespace snnsim::analysis;

constexpr const char* kUsage =
    "usage: snnsim trace export TRACE.h5 --format csv|nirdata -o FILE [options]\n"
    "\n"
    "Writes the trace's spikes for other tools (docs/trace-analysis.md):\n"
    "  csv      one line per spike under a header: population,time_s,neuron (layer graphs:\n"
    "           population,timestep,neuron,sample,value)\n"
    "  nirdata  NIR's NIRGraphData (HDF5): per population nodes/NAME/observables/spikes, an\n"
    "           EventData of idx and time arrays [samples, events] padded with -1 and +inf\n"
    "The trace is read in blocks. FILE is written under FILE.partial and renamed when complete:\n"
    "a failed export leaves no file.\n";

ExportFormat parse_format(const std::string& name) {
  if (name == "csv") return ExportFormat::csv;
  if (name == "nirdata") return ExportFormat::nir_data;
  if (name.empty()) throw std::runtime_error("missing --format csv|nirdata (see --help)");
  throw std::runtime_error("--format " + name + ": expected csv or nirdata");
}

}  // namespace

int trace_export(int argc, const char* const* argv) {
  Arguments a;
  ExportOptions options;
  try {
    if (!parse_command_line(argc, argv, kUsage,
                            {OptionGroup::trace_export, OptionGroup::trace_select}, a,
                            Positionals{"the trace file", 1, 1})) {
      return 0;
    }
    options.format = parse_format(a.format);
    if (a.output.empty()) throw std::runtime_error("missing -o FILE (see --help)");
  } catch (const std::exception& error) {
    std::fprintf(stderr, "snnsim trace export: %s\n", error.what());
    return kExitUsage;
  }
  try {
    refuse_output_over_inputs("-o", a.output, {{a.files[0], "the trace being exported"}});
    const TraceReader reader(a.files[0]);
    const TraceInfo info = read_trace_info(reader);
    options.populations = select_populations(reader, a.populations);
    options.window = window_from_options(info, a.from, a.to);
    ReadProgress progress;
    options.progress = [&](std::uint64_t done, std::uint64_t total) {
      progress.update(done, total);
    };
    const ExportResult result = export_trace(reader, info, options, a.output);
    progress.finish();
    std::printf("%s: %s spikes of %zu %s\n", a.output.c_str(), grouped(result.spikes).c_str(),
                result.populations, info.kind == TraceKind::layer_graph ? "layers" : "populations");
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "snnsim trace export: %s\n", error.what());
    return kExitFailure;
  }
}

}  // namespace snnsim::cli
