// snnsim export nir NET.json -o NET.nir [--approximate] [--dt TIME]: a population network or a
// layer graph as a NIR graph (export/nir_export.h; docs/export.md, "Exporting NIR").
#include <cstdio>
#include <filesystem>

#include "export/nir_export.h"
#include "tools/snnsim/cli_options.h"
#include "tools/snnsim/commands.h"
#include "tools/snnsim/export_commands.h"
#include "tools/snnsim/output_paths.h"

namespace snnsim::cli {
namespace {

constexpr const char* kUsage =
    "usage: snnsim export nir NET.json -o NET.nir [--approximate] [--dt TIME] [options]\n"
    "\n"
    "Writes the network as a NIR graph (github.com/neuromorphs/NIR) that snnTorch, Norse,\n"
    "Sinabs, Rockpool, Lava and SpiNNaker2 read, with times in seconds, forward-Euler steps of\n"
    "dt and a spike counting 1 in its step (docs/export.md). Population networks become\n"
    "LIF/IF/CubaLIF nodes with dense Linear projections behind Delay nodes, their parameters\n"
    "chosen so that NIR's Euler step equals snnsim's; layer graphs map operator by operator\n"
    "(Conv2d, Affine, SumPool2d, AvgPool2d, Flatten, Scale, Delay, LIF, IF, Threshold).\n"
    "\n"
    "What NIR cannot express (sparse connectivity beyond the size limit, per-synapse delays,\n"
    "conductance-based synapses, refractoriness, Poisson sources, soft resets, attention,\n"
    "ternary spikes, ...) is refused, listing every offending element, and nothing is written;\n"
    "--approximate approximates what it can, printing one warning per approximation.\n";

}  // namespace

int export_nir(int argc, const char* const* argv) {
  Arguments a;
  try {
    if (!parse_command_line(argc, argv, kUsage, {OptionGroup::network, OptionGroup::nir_export}, a))
      return 0;
    if (a.output.empty()) throw std::runtime_error("missing -o NET.nir");
  } catch (const std::exception& error) {
    std::fprintf(stderr, "snnsim export nir: %s\n", error.what());
    return kExitUsage;
  }
  try {
    const LoadOptions load = load_options(a);
    NirExportOptions options;
    options.approximate = a.approximate;
    if (load.dt_ms) options.dt_s = *load.dt_ms * 1e-3;
    refuse_output_over_inputs("-o", a.output, {{a.network, "the network file"}});
    const NirExport result = export_nir(a.network, load, options);
    for (const std::string& warning : result.approximations)
      std::fprintf(stderr, "warning: %s\n", warning.c_str());
    for (const std::string& note : result.notes)
      std::printf("note: %s\n", note.c_str());
    nir::write_file(result.graph, a.output);
    std::printf("wrote %s: %zu nodes, %zu edges, %llu dense weights, %llu bytes\n",
                a.output.c_str(), result.graph.nodes.size(), result.graph.edges.size(),
                static_cast<unsigned long long>(result.dense_weights),
                static_cast<unsigned long long>(std::filesystem::file_size(a.output)));
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "snnsim export nir: %s\n", error.what());
    return kExitFailure;
  }
}

}  // namespace snnsim::cli
