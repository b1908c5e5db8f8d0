#include "export/hardware_targets.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>

#include "export/loihi2.h"
#include "networks/builder.h"

namespace snnsim::hardware {
namespace {

// Loihi 2 (one chip). 128 neuro cores, up to 1 million neurons and 120 million synapses per chip:
// open-neuromorphic.org/neuromorphic-computing/hardware/loihi-2-intel/ (Intel's Loihi 2 brief);
// 1M / 128 cores gives the 8192 neurons per core. 4096 input axons per core: spikingjelly issue
// #543 (deploying to Loihi through Lava). Bit widths: lava-nc/lava src/lava/proc/lif/models.py.
constexpr double kLoihiCores = 128, kLoihiNeuronsPerCore = 8192, kLoihiSynapses = 120e6;
constexpr double kLoihiFanIn = 4096;
// Xylo Audio 2 / 3: rockpool.ai/devices/xylo-overview.html: 16 input channels, 1000 hidden
// neurons, 8-bit weights, maximum fan-out 64, each of the two input synapses fed by up to 16
// pre-synaptic neurons, LIF neurons with exponential current synapses.
constexpr double kXyloInputs = 16, kXyloHidden = 1000, kXyloFanOut = 64, kXyloFanInPerSynapse = 16;

std::string format(double x) {
  char text[32];
  if (x == std::floor(x) && std::abs(x) < 1e15) {
    std::snprintf(text, sizeof text, "%.0f", x);
  } else {
    std::snprintf(text, sizeof text, "%.4g", x);
  }
  return text;
}

bool is_neuron(const PopulationSpec& p) {
  return !p.model->receptors.empty();
}

/// Expected synapses per target neuron and per source neuron of a projection.
struct Degrees {
  double in = 0, out = 0;
};

Degrees degrees(const NetworkSpec& spec, const ProjectionSpec& projection) {
  const double ns = spec.populations[projection.source].size;
  const double nt = spec.populations[projection.target].size;
  const ConnectivitySpec& c = projection.connectivity;
  switch (c.rule) {
    case ConnectionRule::all_to_all:
    case ConnectionRule::one_to_one:
    case ConnectionRule::fixed_probability:
    case ConnectionRule::fixed_indegree:
    case ConnectionRule::fixed_outdegree: {
      // Generated rules spread their synapses evenly: the mean degree is the degree.
      const double synapses = expected_synapses(projection, ns, nt);
      return {synapses / nt, synapses / ns};
    }
    case ConnectionRule::explicit_list: {
      // Listed synapses: the largest actual degree.
      std::map<NeuronIndex, double> in, out;
      double most_in = 0, most_out = 0;
      for (std::size_t k = 0; k < c.sources.size(); ++k) {
        most_in = std::max(most_in, ++in[c.targets[k]]);
        most_out = std::max(most_out, ++out[c.sources[k]]);
      }
      return {most_in, most_out};
    }
    case ConnectionRule::file:
      break;
  }
  return {};
}

/// Weight precision: a projection's weights share one exponent and have an 8-bit mantissa, so a
/// nonzero weight below half a mantissa step of the largest one becomes 0.
void check_weights(const NetworkSpec& spec, std::vector<Violation>& out, bool xylo) {
  for (const ProjectionSpec& projection : spec.projections) {
    std::vector<double> x;
    if (projection.weight.kind == ValueSpec::Kind::constant) x = {projection.weight.value};
    if (projection.weight.kind == ValueSpec::Kind::list) x = projection.weight.values;
    if (x.empty()) continue;
    double largest = 0, low = 0, high = 0;
    for (double w : x) {
      largest = std::max(largest, std::abs(w));
      low = std::min(low, w);
      high = std::max(high, w);
    }
    if (largest == 0) continue;
    // weightutils.py: one sign has 8 bits of magnitude, mixed signs 7; Xylo's are signed 8-bit.
    const double limit = xylo || (low < 0 && high > 0) ? 127 : 255;
    std::size_t lost = 0;
    for (double w : x)
      if (w != 0 && std::round(std::abs(w) / largest * limit) == 0) ++lost;
    if (lost > 0)
      out.push_back({"projection " + projection.name, "weight precision (8-bit mantissa)",
                     format(static_cast<double>(lost)) + " nonzero weights round to 0",
                     "smallest |w| at least largest / " + format(2 * limit)});
  }
}

std::vector<Violation> check_loihi2(const NetworkSpec& spec) {
  std::vector<Violation> out;
  double cores = 0;
  std::vector<double> fan_in(spec.populations.size(), 0.0);
  for (const PopulationSpec& p : spec.populations) {
    if (!is_neuron(p)) continue;
    cores += std::ceil(p.size / kLoihiNeuronsPerCore);
    const std::string model(p.model->name);
    if (model != "lif_psc_delta" && model != "lif_psc_exp" && model != "lif_cond_exp" &&
        model != "if_psc_delta" && model != "loihi2_lif")
      out.push_back({"population " + p.name, "neuron model", model,
                     "lif_psc_delta, lif_psc_exp, lif_cond_exp, if_psc_delta, loihi2_lif"});
    // A float loihi2_lif is the export report's unrounded reference, not something to deploy.
    if (model == "loihi2_lif" && p.parameters[p.model->parameter_index("arithmetic")] != 0)
      out.push_back({"population " + p.name, "arithmetic", "float", "fixed"});
    const int tau_m = p.model->parameter_index("tau_m");
    if (tau_m >= 0 && std::llround(decay_constant(p.parameters[tau_m], spec.dt_ms)) == 0)
      out.push_back({"population " + p.name, "membrane decay dv (12 bits)",
                     "tau_m " + format(p.parameters[tau_m]) + " ms rounds to no leak",
                     "tau_m up to " + format(8192 * spec.dt_ms) + " ms at this dt"});
  }
  if (cores > kLoihiCores)
    out.push_back(
        {"network", "neuro cores (8192 neurons each)", format(cores), format(kLoihiCores)});
  for (const ProjectionSpec& projection : spec.projections)
    fan_in[projection.target] += degrees(spec, projection).in;
  for (const DriveSpec& drive : spec.drives)
    if (drive.kind != DriveSpec::Kind::current) fan_in[drive.population] += 1;
  for (std::size_t p = 0; p < spec.populations.size(); ++p)
    if (fan_in[p] > kLoihiFanIn)
      out.push_back({"population " + spec.populations[p].name, "fan-in (input axons per core)",
                     format(fan_in[p]), format(kLoihiFanIn)});
  const double synapses = estimate_memory(spec).synapses;
  if (synapses > kLoihiSynapses)
    out.push_back({"network", "synapses per chip", format(synapses), format(kLoihiSynapses)});
  check_weights(spec, out, false);
  return out;
}

std::vector<Violation> check_xylo(const NetworkSpec& spec) {
  std::vector<Violation> out;
  double hidden = 0, inputs = 0;
  std::vector<double> fan_out(spec.populations.size(), 0.0);
  std::vector<std::map<int, double>> fan_in(spec.populations.size());
  for (const PopulationSpec& p : spec.populations) {
    const std::string model(p.model->name);
    if (!is_neuron(p)) {
      inputs += p.size;
      continue;
    }
    hidden += p.size;
    if (model != "lif_psc_exp" && model != "lif_psc_delta" && model != "if_psc_delta")
      out.push_back({"population " + p.name, "neuron model", model,
                     "LIF with current synapses (lif_psc_exp, lif_psc_delta, if_psc_delta)"});
  }
  for (const DriveSpec& drive : spec.drives) {
    // An own Poisson train per neuron needs a channel per neuron; shared times need one.
    if (drive.kind == DriveSpec::Kind::poisson) inputs += spec.populations[drive.population].size;
    if (drive.kind == DriveSpec::Kind::spike_times) inputs += 1;
    if (drive.kind == DriveSpec::Kind::current)
      out.push_back(
          {"input " + drive.name, "external current", "current input", "spike inputs only"});
  }
  if (inputs > kXyloInputs)
    out.push_back({"network", "input channels", format(inputs), format(kXyloInputs)});
  if (hidden > kXyloHidden)
    out.push_back({"network", "hidden neurons", format(hidden), format(kXyloHidden)});
  for (const ProjectionSpec& projection : spec.projections) {
    const Degrees d = degrees(spec, projection);
    fan_out[projection.source] += d.out;
    fan_in[projection.target][projection.receptor] += d.in;
  }
  for (std::size_t p = 0; p < spec.populations.size(); ++p) {
    const std::string element = "population " + spec.populations[p].name;
    if (fan_out[p] > kXyloFanOut)
      out.push_back({element, "fan-out", format(fan_out[p]), format(kXyloFanOut)});
    for (const auto& [receptor, degree] : fan_in[p])
      if (degree > kXyloFanInPerSynapse)
        out.push_back({element,
                       "fan-in of receptor " +
                           std::string(spec.populations[p].model->receptors[receptor].name),
                       format(degree), format(kXyloFanInPerSynapse)});
  }
  check_weights(spec, out, true);
  return out;
}

}  // namespace

Target parse_target(std::string_view name) {
  if (name == "loihi2") return Target::loihi2;
  if (name == "xylo") return Target::xylo;
  throw std::runtime_error("unknown target \"" + std::string(name) + "\"; expected loihi2 or xylo");
}

double expected_indegree(const NetworkSpec& spec, const ProjectionSpec& projection) {
  return degrees(spec, projection).in;
}

std::vector<Violation> check_constraints(const NetworkSpec& spec, Target target) {
  return target == Target::loihi2 ? check_loihi2(spec) : check_xylo(spec);
}

}  // namespace snnsim::hardware
