// snnsim export check NET.json --target loihi2|xylo|nir: every resource or precision limit of the
// target that the network exceeds (export/hardware_targets.h), or every element NIR cannot
// express (export/nir_export.h), one line each.
#include <cstdio>

#include "export/hardware_targets.h"
#include "export/loihi2_graph.h"
#include "export/nir_export.h"
#include "networks/layer_graph_file.h"
#include "networks/network_file.h"
#include "tools/snnsim/cli_options.h"
#include "tools/snnsim/commands.h"
#include "tools/snnsim/export_commands.h"

namespace snnsim::cli {
namespace {

constexpr const char* kUsage =
    "usage: snnsim export check NET.json --target loihi2|xylo|nir [options]\n"
    "\n"
    "Checks a population network against a neuromorphic target's limits before any export:\n"
    "neurons per core or chip, fan-in and fan-out, synapse count, input channels, neuron\n"
    "models and weight precision (8-bit mantissa per projection). Prints one line per violated\n"
    "constraint (element, constraint, value, limit) and exits 1, or prints that the network\n"
    "fits and exits 0. Degrees of random connectivity are expected values. Limits and their\n"
    "sources: docs/export.md. --target nir lists every element NIR cannot express (population\n"
    "networks and layer graphs), as snnsim export nir would refuse them. --target loihi2 of a\n"
    "layer graph lists every node snnsim export loihi2 cannot quantise.\n";

/// --target nir: what `snnsim export nir` would refuse, population networks and layer graphs.
int check_nir(const Arguments& a) {
  const std::vector<std::string> problems = nir_export_problems(a.network, load_options(a), {});
  for (const std::string& problem : problems)
    std::printf("%s\n", problem.c_str());
  if (problems.empty()) {
    std::printf("%s fits nir\n", a.network.c_str());
    return 0;
  }
  std::printf(
      "%s: %zu element%s NIR cannot express (snnsim export nir --approximate says what it "
      "can approximate)\n",
      a.network.c_str(), problems.size(), problems.size() == 1 ? "" : "s");
  return kExitFailure;
}

/// --target loihi2 of a layer graph: the nodes snnsim export loihi2 cannot quantise.
int check_loihi2_graph(const Arguments& a) {
  const std::vector<std::string> problems = hardware::loihi2_graph_problems(a.network);
  for (const std::string& problem : problems)
    std::printf("%s\n", problem.c_str());
  if (problems.empty()) {
    std::printf("%s fits loihi2 (snnsim export loihi2 quantises it)\n", a.network.c_str());
    return 0;
  }
  std::printf("%s: %zu node%s without a Loihi 2 fixed-point mapping\n", a.network.c_str(),
              problems.size(), problems.size() == 1 ? "" : "s");
  return kExitFailure;
}

}  // namespace

int export_check(int argc, const char* const* argv) {
  Arguments a;
  hardware::Target target{};
  try {
    if (!parse_command_line(argc, argv, kUsage, {OptionGroup::network, OptionGroup::export_check},
                            a))
      return 0;
    if (a.target.empty()) throw std::runtime_error("missing --target loihi2|xylo|nir");
    if (a.target != "nir") target = hardware::parse_target(a.target);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "snnsim export check: %s\n", error.what());
    return kExitUsage;
  }
  try {
    if (a.target == "nir") return check_nir(a);
    if (a.target == "loihi2" && is_layer_graph_file(a.network)) return check_loihi2_graph(a);
    const NetworkSpec spec = load_network_file(a.network, load_options(a));
    const std::vector<hardware::Violation> violations = hardware::check_constraints(spec, target);
    for (const hardware::Violation& v : violations)
      std::printf("%s: %s: %s (limit %s)\n", v.element.c_str(), v.constraint.c_str(),
                  v.value.c_str(), v.limit.c_str());
    if (violations.empty()) {
      std::printf("%s fits %s\n", a.network.c_str(), a.target.c_str());
      return 0;
    }
    std::printf("%s: %zu constraint%s of %s violated\n", a.network.c_str(), violations.size(),
                violations.size() == 1 ? "" : "s", a.target.c_str());
    return kExitFailure;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "snnsim export check: %s\n", error.what());
    return kExitFailure;
  }
}

}  // namespace snnsim::cli
