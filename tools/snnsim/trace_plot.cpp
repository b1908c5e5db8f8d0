// snnsim trace raster|rate|isi|hist|state TRACE.h5 -o PLOT.svg|png: a picture of a trace.
#include <cstdio>
#include <string>

#include "analysis/trace_plots.h"
#include "tools/snnsim/cli_options.h"
#include "tools/snnsim/commands.h"
#include "tools/snnsim/output_paths.h"
#include "tools/snnsim/read_progress.h"
#include "tools/snnsim/trace_commands.h"

namespace snnsim::cli {

namespace {

using namespace snnsim::analysis;

constexpr const char* kDescriptions[] = {
    // raster
    "A spike raster: one mark per spike, time against neuron, populations stacked in colours.\n"
    "At most one neuron per pixel row (every k-th neuron beyond) and 200,000 marks (50,000 in\n"
    "SVG; 1 in k spikes beyond) are drawn; the plot says so when it thins. Layer graphs: the\n"
    "first sample.\n",
    // rate
    "The population rate: spikes per neuron and second in --bin bins (default: a round bin\n"
    "giving about 200 of them), one line per population. Layer graphs: the share of each\n"
    "layer's elements that spiked at each timestep, over all samples.\n",
    // isi
    "A histogram of inter-spike intervals as a probability density, one outline per\n"
    "population, in linear --bin bins (default: about 80 round bins up to the 95th percentile;\n"
    "the share of longer ISIs is written on the plot). Layer graphs: per sample, in timesteps.\n",
    // hist
    "A histogram of the neurons' firing rates in the window (--bin in Hz; default about 40\n"
    "round bins), silent neurons included. Several populations are drawn as fractions.\n",
    // state
    "Sampled state, e.g. membrane potentials: one line per neuron (--neuron, at most 10;\n"
    "default the first 3 sampled) of one population's --variable (default v), in its unit.\n"
    "Long traces are drawn as min-max envelopes, which the plot says.\n",
};

std::string usage_of(PlotKind kind, std::string_view name) {
  return "usage: snnsim trace " + std::string(name) +
         " TRACE.h5 -o PLOT.svg|PLOT.png [options]\n\n" + kDescriptions[static_cast<int>(kind)] +
         "The trace is read in blocks: memory stays bounded whatever its size. The picture is\n"
         "written under a temporary name and renamed when complete (docs/trace-analysis.md).\n";
}

/// The options of a plot kind, so that one that does not apply (raster --variable) is refused.
std::vector<OptionGroup> plot_options(PlotKind kind) {
  switch (kind) {
    case PlotKind::raster:
      return {OptionGroup::trace_select, OptionGroup::trace_plot};
    case PlotKind::state:
      return {OptionGroup::trace_select, OptionGroup::trace_plot, OptionGroup::trace_state};
    case PlotKind::rate:
    case PlotKind::isi:
    case PlotKind::hist:
      break;
  }
  return {OptionGroup::trace_select, OptionGroup::trace_plot, OptionGroup::trace_plot_bin};
}

}  // namespace

int trace_plot(std::string_view name, int argc, const char* const* argv) {
  const std::string prefix = "snnsim trace " + std::string(name) + ": ";
  const std::optional<PlotKind> kind = plot_kind_of(name);
  if (!kind) {
    std::fprintf(stderr, "%sunknown plot\n", prefix.c_str());
    return kExitUsage;
  }
  Arguments a;
  try {
    if (!parse_command_line(argc, argv, usage_of(*kind, name), plot_options(*kind), a,
                            Positionals{"the trace file", 1, 1})) {
      return 0;
    }
    if (a.output.empty()) throw std::runtime_error("missing -o PLOT.svg|PLOT.png (see --help)");
    plot::image_format_of(a.output);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s%s\n", prefix.c_str(), error.what());
    return kExitUsage;
  }
  ReadProgress progress;
  try {
    refuse_output_over_inputs("-o", a.output, {{a.files[0], "the trace being drawn"}});
    const TraceReader reader(a.files[0]);
    PlotRequest request;
    request.kind = *kind;
    request.populations = a.populations;
    request.from = a.from;
    request.to = a.to;
    request.bin = a.bin;
    request.variable = a.variable;
    request.neurons = a.neurons;
    request.width = static_cast<int>(a.width);
    request.height = static_cast<int>(a.height);
    request.title = a.title;
    if (plot::image_format_of(a.output) == plot::ImageFormat::svg) {
      request.max_marks = kMaxSvgRasterMarks;
    }
    request.progress = [&](std::uint64_t done, std::uint64_t total) {
      progress.update(done, total);
    };
    const Plot plot = build_plot(reader, request);
    progress.finish();
    plot::render(plot.figure, a.output);
    std::printf("wrote %s (%d×%d): %s\n", a.output.c_str(), plot.figure.width, plot.figure.height,
                plot.description.c_str());
    return 0;
  } catch (const std::exception& error) {
    progress.finish();
    std::fprintf(stderr, "%s%s\n", prefix.c_str(), error.what());
    return kExitFailure;
  }
}

}  // namespace snnsim::cli
