// snnsim export loihi2 NET.json -o OUT.json [--report]: the network quantised to Lava's
// bit-accurate Loihi LIF (export/loihi2.h), written as a network file that `snnsim run`
// simulates bit-accurately, with what the quantisation approximated and, with --report, the
// deviation of its spikes from the float network's.
#include <cstdio>

#include "export/loihi2.h"
#include "export/loihi2_graph.h"
#include "networks/layer_graph_file.h"
#include "networks/network_file.h"
#include "sim/atomic_write.h"
#include "tools/snnsim/cli_options.h"
#include "tools/snnsim/commands.h"
#include "tools/snnsim/export_commands.h"
#include "tools/snnsim/output_paths.h"

namespace snnsim::cli {
namespace {

constexpr const char* kUsage =
    "usage: snnsim export loihi2 NET.json -o OUT.json [--report] [options]\n"
    "\n"
    "Quantises a population network to Loihi 2's fixed point as Lava's bit-accurate LIF does\n"
    "(12-bit decays, 24-bit state, 17-bit threshold << 6, 8-bit weights with an exponent per\n"
    "projection) and writes it as a network file of loihi2_lif populations with integer\n"
    "weights: `snnsim run OUT.json` simulates it bit-accurately. Prints the voltage scale, each\n"
    "weight set's exponent and rounding error, and every approximation made. --report runs the\n"
    "float network, the mapped network in float arithmetic (loihi2_lif with arithmetic float,\n"
    "nothing rounded) and the quantised network with the same seed, and prints per population\n"
    "the mapping's deviation (float vs mapped) and the quantisation's (mapped vs fixed): spike\n"
    "counts, rates, the fraction of spikes within one step of a reference spike of the same\n"
    "neuron, and the first step at which the spike trains differ (docs/export.md).\n"
    "\n"
    "Layer graphs of if neurons (conv2d, linear, avgpool2d, flatten) are quantised to 8-bit\n"
    "weights with a power-of-two scale per layer and integer biases and thresholds; the weights\n"
    "go to OUT.safetensors next to OUT.json. Compare the two with snnsim infer.\n";

void print_deviation(const char* title, const char* reference, const char* compared,
                     const std::vector<hardware::PopulationDeviation>& deviations) {
  std::printf("\n  %s: %s vs %s (same seed)\n", title, reference, compared);
  std::printf("  %-12s %9s %12s %12s %9s %9s %9s %10s %12s\n", "population", "neurons", reference,
              compared, "rel diff", "ref Hz", "Hz", "within 1", "diverges at");
  for (const hardware::PopulationDeviation& d : deviations) {
    char diverge[32] = "never";
    if (d.first_divergence_step >= 0)
      std::snprintf(diverge, sizeof diverge, "step %lld",
                    static_cast<long long>(d.first_divergence_step));
    char matched[16] = "-";  // no spike to match
    if (d.spikes > 0)
      std::snprintf(matched, sizeof matched, "%.2f%%", 100.0 * d.matched_within_one_step);
    std::printf("  %-12s %9u %12llu %12llu %8.2f%% %9.3f %9.3f %10s %12s\n", d.name.c_str(), d.size,
                static_cast<unsigned long long>(d.reference_spikes),
                static_cast<unsigned long long>(d.spikes), 100.0 * d.relative_difference,
                d.reference_rate_hz, d.rate_hz, matched, diverge);
  }
}

void print_report(const hardware::Loihi2Deviation& deviation) {
  print_deviation("mapping", "float", "mapped", deviation.mapping);
  print_deviation("quantisation", "mapped", "fixed", deviation.quantisation);
}

/// Layer graphs: quantised weights, biases and thresholds; `snnsim infer` runs both versions.
int export_layer_graph(const Arguments& a) {
  if (a.report)
    throw std::runtime_error(
        "--report compares population networks; for a layer graph run snnsim infer on both "
        "files with the same --input (docs/export.md)");
  const hardware::GraphExport result = hardware::quantise_layer_graph(a.network, a.output);
  std::printf("snnsim export loihi2 %s\n", a.network.c_str());
  for (const hardware::GraphLayerQuantisation& layer : result.layers)
    std::printf("  %-10s %s\n", layer.node.c_str(), layer.what.c_str());
  for (const std::string& note : result.notes)
    std::printf("  note       %s\n", note.c_str());
  std::printf("  wrote      %s and its .safetensors\n", a.output.c_str());
  return 0;
}

}  // namespace

int export_loihi2(int argc, const char* const* argv) {
  Arguments a;
  try {
    if (!parse_command_line(
            argc, argv, kUsage,
            {OptionGroup::network, OptionGroup::simulation, OptionGroup::loihi2_export}, a))
      return 0;
    if (a.output.empty()) throw std::runtime_error("missing -o OUT.json");
  } catch (const std::exception& error) {
    std::fprintf(stderr, "snnsim export loihi2: %s\n", error.what());
    return kExitUsage;
  }
  try {
    refuse_output_over_inputs("-o", a.output, {{a.network, "the network file"}});
    if (is_layer_graph_file(a.network)) return export_layer_graph(a);
    const NetworkSpec spec = load_network_file(a.network, load_options(a));
    hardware::Loihi2Options options;
    // Conductance synapses are linearised at the float network's operating point.
    if (hardware::needs_operating_point(spec))
      options.operating_point = hardware::measure_operating_point(spec, a.threads);
    const hardware::Loihi2Export result = hardware::quantise_for_loihi2(spec, options);
    write_text_atomically(a.output, hardware::network_file_text(
                                        result.network, "Loihi 2 fixed point of " + a.network +
                                                            " (snnsim export loihi2)"));
    std::printf("snnsim export loihi2 %s\n", a.network.c_str());
    // Both are absent when every population is loihi2_lif already (copied as it is).
    if (result.mv_per_lsb > 0)
      std::printf("  voltage    %.6g mV per LSB (threshold mantissa target %lld)\n",
                  result.mv_per_lsb, static_cast<long long>(hardware::kTargetThresholdMantissa));
    if (!result.weights.empty())
      std::printf("  weights    %-28s %4s %6s %12s %12s %8s %8s\n", "", "exp", "range", "LSB",
                  "max error", "max rel", "zeroed");
    for (const hardware::WeightQuantisation& q : result.weights)
      std::printf("             %-28s %4d %6d %12.6g %12.6g %7.3f%% %8zu\n", q.element.c_str(),
                  q.exponent, q.mantissa_limit, q.lsb, q.max_abs_error,
                  100.0 * q.max_relative_error, q.zeroed);
    for (const std::string& note : result.notes)
      std::printf("  note       %s\n", note.c_str());
    std::printf("  wrote      %s\n", a.output.c_str());
    if (a.report) {
      // The same mapping unrounded: the mapped network in float arithmetic.
      options.quantise = false;
      const hardware::Loihi2Export mapped = hardware::quantise_for_loihi2(spec, options);
      print_report(hardware::compare_runs(spec, mapped.network, result.network, a.threads));
    }
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "snnsim export loihi2: %s\n", error.what());
    return kExitFailure;
  }
}

}  // namespace snnsim::cli
