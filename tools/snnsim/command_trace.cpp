// snnsim trace SUBCOMMAND: numbers and pictures from a trace, streamed (docs/trace-analysis.md).
#include "tools/snnsim/commands.h"
#include "tools/snnsim/subcommands.h"
#include "tools/snnsim/trace_commands.h"

namespace snnsim::cli {
namespace {

constexpr Subcommand kSubcommands[] = {
    {"summary", "TRACE.h5 [--json]", "rates, CV of ISIs, Fano, correlations, synchrony",
     without_name<trace_summary>},
    {"raster", "TRACE.h5 -o PLOT", "spike raster (PLOT.svg or PLOT.png)", trace_plot},
    {"rate", "TRACE.h5 -o PLOT", "population rate over time", trace_plot},
    {"isi", "TRACE.h5 -o PLOT", "histogram of inter-spike intervals", trace_plot},
    {"hist", "TRACE.h5 -o PLOT", "histogram of firing rates", trace_plot},
    {"state", "TRACE.h5 -o PLOT", "sampled state, e.g. membrane traces", trace_plot},
    {"compare", "A.h5 B.h5", "statistical comparison of two runs (exit 0: alike)",
     without_name<trace_compare>},
    {"export", "TRACE.h5 -o FILE", "spikes as CSV or NIR data (--format)",
     without_name<trace_export>},
};

constexpr const char* kAbout =
    "usage: snnsim trace SUBCOMMAND TRACE.h5 [options]\n"
    "\n"
    "Statistics, plots, comparisons and exports of snnsim traces (docs/trace-format.md),\n"
    "read in blocks: memory stays bounded whatever the trace's size.\n";

}  // namespace

int command_trace(int argc, const char* const* argv) {
  return run_subcommand("trace", kAbout, kSubcommands, argc, argv);
}

}  // namespace snnsim::cli
