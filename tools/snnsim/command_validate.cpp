// snnsim validate NET.json: every check `run` makes before building, and nothing else.
#include <algorithm>
#include <cstdio>

#include "networks/builder.h"
#include "networks/layer_graph_file.h"
#include "tools/snnsim/cli_options.h"
#include "tools/snnsim/commands.h"
#include "tools/snnsim/network_argument.h"

namespace snnsim::cli {

namespace {
constexpr const char* kUsage =
    "usage: snnsim validate NET.json|NET.nir [options]\n"
    "\n"
    "Checks a network file (docs/network-format.md) without running it: format, unknown keys,\n"
    "units, names, sizes, model parameters, and whether the network fits in this machine's\n"
    "memory. Prints one line per network element and an estimate of the memory needed on\n"
    "success, or the first error with its place in the file, and exits non-zero. Layer graphs\n"
    "are checked down to their weights: every node's shape and every tensor. A NIR graph is\n"
    "imported first, as snnsim import nir would.\n";

/// Layer graphs: build the graph and load its weights, which checks shapes and tensors. `name`:
/// the file as the user named it (`path` is an import's for a NIR graph).
int validate_layer_graph(const std::string& path, const std::string& name) {
  const LayerGraphSpec spec = load_layer_graph_file(path);
  int width = 16;
  for (const GraphNode& node : spec.graph->nodes())
    width = std::max(width, static_cast<int>(node.name.size()));
  for (const GraphNode& node : spec.graph->nodes()) {
    if (node.op == nullptr) continue;
    std::printf("  node %-*s %-18s %s%s\n", width, node.name.c_str(),
                std::string(node.op->kind()).c_str(), shape_string(node.shape).c_str(),
                node.folded ? " (folded into its input)" : "");
  }
  const std::string model = spec.model.empty() ? "" : ", model " + spec.model;
  std::printf("%s: valid (layer graph%s, %zu nodes, T = %zu, input %s, weights %s)\n", name.c_str(),
              model.c_str(), spec.graph->nodes().size() - 1, spec.graph->timesteps(),
              shape_string(spec.graph->input_shape()).c_str(), spec.weights.string().c_str());
  return 0;
}
}  // namespace

int command_validate(int argc, const char* const* argv) {
  Arguments a;
  try {
    if (!parse_command_line(argc, argv, kUsage, {OptionGroup::network, OptionGroup::run}, a)) {
      return 0;
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "snnsim validate: %s\n", error.what());
    return kExitUsage;
  }
  try {
    const LoadOptions load = load_options(a);
    const NetworkArgument file(a, NirImportKind::automatic);
    if (is_layer_graph_file(file.path())) return validate_layer_graph(file.path(), a.network);
    const NetworkSpec spec = load_network_file(file.path(), load);
    const MemoryEstimate estimate = check_memory(spec);
    std::uint64_t neurons = 0;
    for (const PopulationSpec& p : spec.populations) {
      neurons += p.size;
      std::printf("  population %-16s %-18s %u neurons\n", p.name.c_str(),
                  std::string(p.model->name).c_str(), p.size);
    }
    for (const ProjectionSpec& p : spec.projections) {
      std::printf("  projection %s\n", p.name.c_str());
    }
    std::printf("  about %.3g synapses and %.3g MB to build\n", estimate.synapses,
                estimate.bytes / 1e6);
    std::printf(
        "%s: valid (%zu populations, %llu neurons, %zu projections, %zu inputs; dt %.3g ms, "
        "duration %.6g ms, seed %llu)\n",
        a.network.c_str(), spec.populations.size(), static_cast<unsigned long long>(neurons),
        spec.projections.size(), spec.drives.size(), spec.dt_ms, spec.duration_ms,
        static_cast<unsigned long long>(spec.seed));
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "snnsim validate: %s\n", error.what());
    return kExitFailure;
  }
}

}  // namespace snnsim::cli
