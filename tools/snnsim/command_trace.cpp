// snnsim trace SUBCOMMAND: numbers and pictures from a trace, streamed (docs/trace-analysis.md).
#include <cstdio>
#include <string_view>

#include "tools/snnsim/commands.h"
#include "tools/snnsim/trace_commands.h"

namespace snnsim::cli {
namespace {

struct Subcommand {
  std::string_view name, arguments, description;
  int (*run)(std::string_view name, int argc, const char* const* argv);
};

int summary(std::string_view, int argc, const char* const* argv) {
  return trace_summary(argc, argv);
}
int compare(std::string_view, int argc, const char* const* argv) {
  return trace_compare(argc, argv);
}
int export_spikes(std::string_view, int argc, const char* const* argv) {
  return trace_export(argc, argv);
}

constexpr Subcommand kSubcommands[] = {
    {"summary", "TRACE.h5 [--json]", "rates, CV of ISIs, Fano, correlations, synchrony", summary},
    {"raster", "TRACE.h5 -o PLOT", "spike raster (PLOT.svg or PLOT.png)", trace_plot},
    {"rate", "TRACE.h5 -o PLOT", "population rate over time", trace_plot},
    {"isi", "TRACE.h5 -o PLOT", "histogram of inter-spike intervals", trace_plot},
    {"hist", "TRACE.h5 -o PLOT", "histogram of firing rates", trace_plot},
    {"state", "TRACE.h5 -o PLOT", "sampled state, e.g. membrane traces", trace_plot},
    {"compare", "A.h5 B.h5", "statistical comparison of two runs (exit 0: alike)", compare},
    {"export", "TRACE.h5 -o FILE", "spikes as CSV or NIR data (--format)", export_spikes},
};

void print_usage(std::FILE* to) {
  std::fputs(
      "usage: snnsim trace SUBCOMMAND TRACE.h5 [options]\n"
      "\n"
      "Statistics, plots, comparisons and exports of snnsim traces (docs/trace-format.md),\n"
      "read in blocks: memory stays bounded whatever the trace's size.\n"
      "\n"
      "subcommands:\n",
      to);
  for (const Subcommand& s : kSubcommands) {
    std::fprintf(to, "  %-8.*s %-20.*s %.*s\n", static_cast<int>(s.name.size()), s.name.data(),
                 static_cast<int>(s.arguments.size()), s.arguments.data(),
                 static_cast<int>(s.description.size()), s.description.data());
  }
  std::fputs("\n  snnsim trace SUBCOMMAND --help   options of a subcommand\n", to);
}

}  // namespace

int command_trace(int argc, const char* const* argv) {
  if (argc < 2) {
    print_usage(stderr);
    return kExitUsage;
  }
  const std::string_view name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_usage(stdout);
    return 0;
  }
  for (const Subcommand& s : kSubcommands) {
    if (s.name == name) return s.run(name, argc - 1, argv + 1);
  }
  std::fprintf(stderr,
               "snnsim trace: unknown subcommand '%s'; expected summary, raster, rate, isi, hist, "
               "state, compare or export (see snnsim trace --help)\n",
               argv[1]);
  return kExitUsage;
}

}  // namespace snnsim::cli
