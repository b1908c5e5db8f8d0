// snnsim trace summary TRACE.h5: statistics per population (or layer) as a table or JSON.
#include "analysis/trace_summary.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "tools/snnsim/cli_options.h"
#include "tools/snnsim/commands.h"
#include "tools/snnsim/number_format.h"
#include "tools/snnsim/read_progress.h"
#include "tools/snnsim/trace_commands.h"

namespace snnsim::cli {

namespace {

using namespace snnsim::analysis;

constexpr const char* kUsage =
    "usage: snnsim trace summary TRACE.h5 [options]\n"
    "\n"
    "Statistics of each population of a trace (docs/trace-analysis.md): neurons, spikes, firing\n"
    "rates (mean, spread, percentiles, silent fraction), CV of inter-spike intervals, Fano factor\n"
    "and pairwise correlation of spike counts in --bin windows, and synchrony (Golomb's chi^2).\n"
    "Layer-graph traces (snnsim infer) give per layer the firing rate, per timestep too, the\n"
    "synaptic operations and the energy estimate. The trace is read in blocks: memory stays\n"
    "bounded whatever its size.\n";

constexpr const char* kDefaultBin = "5ms";

std::string number(const std::optional<double>& value, const char* format = "%.3g") {
  if (!value) return "-";
  char text[32];
  std::snprintf(text, sizeof text, format, *value);
  return text;
}

std::string percent(double fraction) {
  return number(100 * fraction, "%.3g%%");
}

/// How far an incomplete trace goes: an interrupted run's, or the `.partial` file of a killed one
/// (up to its last flush).
std::string completeness(const TraceInfo& t) {
  if (t.complete) return "";
  if (t.kind == TraceKind::layer_graph) return " (incomplete)";
  return " (incomplete: it holds the first " + number(t.covered_s() * 1e3, "%.6g") + " ms of the " +
         number(t.duration_s * 1e3, "%.6g") + " ms asked)";
}

void print_header(const Summary& s) {
  const TraceInfo& t = s.trace;
  const bool layers = t.kind == TraceKind::layer_graph;
  std::printf(
      "trace %s: %s, %s%s; seed %llu, snnsim %s, %s\n", t.path.c_str(),
      layers ? "layer graph" : "populations",
      layers ? (std::to_string(t.steps) + " timesteps x " + std::to_string(t.samples) + " samples")
                   .c_str()
             : (number(t.covered_s() * 1e3, "%.6g") + " ms in " + grouped(t.steps) + " steps of " +
                number(t.dt_s * 1e3, "%.6g") + " ms")
                   .c_str(),
      completeness(t).c_str(), static_cast<unsigned long long>(t.seed), t.version.c_str(),
      t.backend.c_str());
  if (s.window.first != 0 || s.window.last != t.steps) {
    if (layers) {
      std::printf("window: timesteps %llu to %llu\n",
                  static_cast<unsigned long long>(s.window.first),
                  static_cast<unsigned long long>(s.window.last - 1));
    } else {
      std::printf("window: %s to %s ms\n",
                  number(static_cast<double>(s.window.first) * t.dt_s * 1e3, "%.6g").c_str(),
                  number(static_cast<double>(s.window.last) * t.dt_s * 1e3, "%.6g").c_str());
    }
  }
}

void print_population_table(const Summary& s) {
  std::uint64_t bins = 0;
  for (const PopulationSummary& p : s.populations)
    if (p.spikes) bins = p.spikes->bins;
  std::printf("spike counts in %llu bins of %s ms\n\n", static_cast<unsigned long long>(bins),
              number(static_cast<double>(s.bin_steps) * s.trace.dt_s * 1e3, "%.6g").c_str());
  std::printf("%-16s %9s %12s %9s %8s %13s %7s %6s %6s %7s %9s\n", "population", "neurons",
              "spikes", "rate Hz", "sd", "p5-p95 Hz", "silent", "CV ISI", "Fano", "corr",
              "sync chi2");
  for (const PopulationSummary& p : s.populations) {
    if (!p.spikes) {
      std::printf("%-16s %9s %12s   (spikes not recorded)\n", p.population.name.c_str(),
                  grouped(p.population.size).c_str(), "-");
      continue;
    }
    const SpikeStatistics& x = *p.spikes;
    std::printf("%-16s %9s %12s %9s %8s %13s %7s %6s %6s %7s %9s\n", p.population.name.c_str(),
                grouped(x.neurons).c_str(), grouped(x.spikes).c_str(),
                number(x.rate_hz.mean).c_str(), number(x.rate_hz.sd).c_str(),
                (number(x.rate_hz.p5) + "-" + number(x.rate_hz.p95)).c_str(),
                percent(x.silent_fraction).c_str(), number(x.cv_mean, "%.2f").c_str(),
                number(x.fano_mean, "%.2f").c_str(), number(x.correlation_mean, "%.3f").c_str(),
                number(x.synchrony_chi2).c_str());
  }
  std::printf(
      "\nCV ISI: mean over neurons with >= 3 spikes; Fano, corr (%zu sampled neurons) and sync "
      "χ² from the binned counts (docs/trace-analysis.md)\n",
      kCorrelationNeurons);
}

void print_layer_table(const Summary& s) {
  std::printf("\n%-16s %-14s %-14s %12s %8s %7s %10s %10s %11s\n", "layer", "op", "shape", "spikes",
              "rate", "silent", "ACs", "MACs", "energy uJ");
  std::uint64_t spikes = 0;
  for (const PopulationSummary& p : s.populations) {
    const LayerSummary& l = *p.layer;
    std::string shape;
    for (std::uint32_t d : p.population.shape)
      shape += (shape.empty() ? "" : "x") + std::to_string(d);
    spikes += l.activity.spikes;
    std::printf(
        "%-16s %-14s %-14s %12s %8s %7s %10s %10s %11s\n", p.population.name.c_str(),
        p.population.op.c_str(), shape.c_str(),
        l.spiking ? grouped(l.activity.spikes).c_str() : "-",
        l.spiking ? percent(l.activity.firing_rate).c_str() : "-",
        l.spiking ? percent(l.activity.silent_fraction).c_str() : "-",
        l.acs ? scaled(*l.acs).c_str() : "-", l.macs ? scaled(*l.macs).c_str() : "-",
        number(l.energy_pj ? std::optional(*l.energy_pj * 1e-6) : std::nullopt, "%.4g").c_str());
  }
  std::printf("%-16s %-14s %-14s %12s %8s %7s %10s %10s %11s\n", "total", "", "",
              grouped(spikes).c_str(), "", "", scaled(s.total_acs).c_str(),
              scaled(s.total_macs).c_str(), number(s.total_energy_pj * 1e-6, "%.4g").c_str());

  std::printf("\nfiring rate per timestep (%% of elements × samples)\n");
  for (const PopulationSummary& p : s.populations) {
    if (!p.layer->spiking) continue;
    std::printf("  %-16s", p.population.name.c_str());
    for (double rate : p.layer->activity.timestep_rates)
      std::printf(" %6.2f", 100 * rate);
    std::printf("\n");
  }
}

/// --bin as whole steps of the trace; at least one.
Step bin_steps_of(const Arguments& a, const TraceInfo& info) {
  if (info.kind == TraceKind::layer_graph) return 1;
  const double bin_ms =
      parse_command_line_quantity("bin", a.bin.empty() ? kDefaultBin : a.bin, Dimension::time);
  const double steps = std::round(bin_ms * 1e-3 / info.dt_s);
  if (!(steps >= 1)) {
    throw std::runtime_error("--bin " + a.bin + " is shorter than the trace's time step (" +
                             number(info.dt_s * 1e3, "%.6g") + " ms)");
  }
  return static_cast<Step>(steps);
}

}  // namespace

int trace_summary(int argc, const char* const* argv) {
  Arguments a;
  try {
    if (!parse_command_line(argc, argv, kUsage,
                            {OptionGroup::trace_select, OptionGroup::trace_summary}, a,
                            Positionals{"the trace file", 1, 1})) {
      return 0;
    }
    if (!a.bin.empty() && parse_command_line_quantity("bin", a.bin, Dimension::time) <= 0) {
      throw std::runtime_error("--bin must be positive");
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "snnsim trace summary: %s\n", error.what());
    return kExitUsage;
  }
  ReadProgress progress;
  try {
    const TraceReader reader(a.files[0]);
    const TraceInfo info = read_trace_info(reader);
    const std::vector<PopulationInfo> populations = select_populations(reader, a.populations);
    const StepWindow window = window_from_options(info, a.from, a.to);
    const Summary summary =
        summarize(reader, info, populations, window, bin_steps_of(a, info),
                  [&](std::uint64_t done, std::uint64_t total) { progress.update(done, total); });
    progress.finish();
    if (a.json) {
      std::cout << summary_json(summary).dump(2) << "\n";
    } else {
      print_header(summary);
      if (info.kind == TraceKind::layer_graph) {
        print_layer_table(summary);
      } else {
        print_population_table(summary);
      }
    }
    return 0;
  } catch (const std::exception& error) {
    progress.finish();
    std::fprintf(stderr, "snnsim trace summary: %s\n", error.what());
    return kExitFailure;
  }
}

}  // namespace snnsim::cli
