// snnsim run NET.json: build the network, simulate it, write the trace, print a summary.

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <new>
#include <nlohmann/json.hpp>

#include "networks/builder.h"
#include "networks/connectivity_rules.h"
#include "sim/atomic_write.h"
#include "sim/simulation.h"
#include "tools/snnsim/cli_options.h"
#include "tools/snnsim/commands.h"
#include "tools/snnsim/memory_use.h"
#include "tools/snnsim/network_argument.h"
#include "tools/snnsim/number_format.h"
#include "tools/snnsim/output_paths.h"
#include "tools/snnsim/progress.h"

namespace snnsim::cli {
namespace {

constexpr const char* kUsage =
    "usage: snnsim run NET.json|NET.nir [options]\n"
    "\n"
    "Simulates the network file NET.json (docs/network-format.md) and prints a summary: neurons,\n"
    "synapses, spikes and mean rate per population, wall time, real-time factor, synaptic\n"
    "events/s. With -o, spikes and sampled state go to an HDF5 trace (docs/trace-format.md).\n"
    "Ctrl-C stops the run cleanly; the trace keeps what was recorded, marked incomplete\n"
    "(during the build: nothing is simulated and no trace written).\n"
    "NET.nir: a NIR graph of populations is imported first (snnsim import nir --help).\n"
    "\n"
    "example: snnsim run examples/coba.json --duration 2s -p N=20000 -o coba.h5\n";

std::atomic<bool> g_stop_requested{false};

extern "C" void request_stop(int) {
  g_stop_requested.store(true);
}

/// Ctrl-C and SIGTERM request a stop while the command runs (building included), and get their
/// default meaning back afterwards.
class StopOnSignals {
 public:
  StopOnSignals() {
    std::signal(SIGINT, request_stop);
    std::signal(SIGTERM, request_stop);
  }
  ~StopOnSignals() {
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
  }
  StopOnSignals(const StopOnSignals&) = delete;
  StopOnSignals& operator=(const StopOnSignals&) = delete;
};

struct BuildFigures {
  NeuronIndex neurons;
  std::uint64_t synapses;
  double bytes_per_synapse;
  double build_s;
};

void print_summary(const Arguments& a, const Network& network, const BuildFigures& build,
                   const RunSummary& run) {
  const double events_per_s = run.wall_s > 0 ? run.counters.synaptic_events / run.wall_s : 0;
  const double updates_per_s = run.wall_s > 0 ? run.counters.neuron_updates / run.wall_s : 0;
  std::printf("\nsnnsim run %s\n", a.network.c_str());
  std::printf("  network    %s neurons, %s synapses (%.1f bytes/synapse), built in %.2f s\n",
              grouped(build.neurons).c_str(), grouped(build.synapses).c_str(),
              build.bytes_per_synapse, build.build_s);
  std::printf(
      "  run        %.3f s simulated (dt %.3g ms, seed %llu) in %.3f s wall: real-time factor "
      "%.3f\n",
      run.simulated_ms * 1e-3, network.dt_ms, static_cast<unsigned long long>(network.seed),
      run.wall_s, run.real_time_factor());
  std::printf("  backend    %s, %d thread%s\n", run.backend.c_str(), run.threads,
              run.threads == 1 ? "" : "s");
  std::printf(
      "  work       %s spikes, %s synaptic events/s, %s neuron updates/s, peak memory %.0f MB\n",
      grouped(run.spikes()).c_str(), scaled(events_per_s).c_str(), scaled(updates_per_s).c_str(),
      peak_resident_mb());
  std::printf("\n  %-16s %12s %12s %10s %8s\n", "population", "neurons", "spikes", "rate (Hz)",
              "CV ISI");
  for (const PopulationSummary& p : run.populations) {
    std::printf("  %-16s %12s %12s %10.2f %8.2f\n", p.name.c_str(), grouped(p.size).c_str(),
                grouped(p.spikes).c_str(), p.rate_hz, p.cv_isi);
  }
  if (!a.output.empty()) {
    std::printf("\n  trace      %s%s\n", a.output.c_str(),
                run.complete ? "" : " (incomplete: the run was interrupted)");
  }
}

void write_summary_json(const std::string& path, const Arguments& a, const Network& network,
                        const BuildFigures& build, const RunSummary& run) {
  nlohmann::json j;
  j["network"] = a.network;
  j["backend"] = run.backend;
  j["threads"] = run.threads;
  j["dt_s"] = network.dt_ms * 1e-3;
  j["duration_s"] = run.simulated_ms * 1e-3;
  j["steps"] = run.steps_completed;
  j["neurons"] = build.neurons;
  j["synapses"] = build.synapses;
  j["bytes_per_synapse"] = build.bytes_per_synapse;
  j["build_s"] = build.build_s;
  j["wall_s"] = run.wall_s;
  j["real_time_factor"] = run.real_time_factor();
  j["synaptic_events"] = run.counters.synaptic_events;
  j["synaptic_events_per_s"] = run.wall_s > 0 ? run.counters.synaptic_events / run.wall_s : 0.0;
  j["neuron_updates_per_s"] = run.wall_s > 0 ? run.counters.neuron_updates / run.wall_s : 0.0;
  j["spikes"] = run.spikes();
  j["peak_rss_mb"] = peak_resident_mb();
  j["complete"] = run.complete;
  j["seed"] = network.seed;
  for (const PopulationSummary& p : run.populations) {
    j["populations"].push_back({{"name", p.name},
                                {"size", p.size},
                                {"spikes", p.spikes},
                                {"rate_hz", p.rate_hz},
                                {"cv_isi", p.cv_isi}});
  }
  write_text_atomically(path, j.dump(2) + "\n");
}

}  // namespace

int command_run(int argc, const char* const* argv) {
  Arguments a;
  try {
    if (!parse_command_line(argc, argv, kUsage,
                            {OptionGroup::network, OptionGroup::run, OptionGroup::output}, a)) {
      return 0;
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "snnsim run: %s\n", error.what());
    return kExitUsage;
  }
  try {
    const StopOnSignals stop_on_signals;
    const BackendKind backend = parse_backend(a.backend);
    const LoadOptions load = load_options(a);
    const NetworkArgument file(a, NirImportKind::automatic);
    if (file.imported_kind() == "layer_graph") {
      throw std::runtime_error(a.network +
                               ": a layer graph, not a population network; run it with snnsim "
                               "infer " +
                               a.network + " --input X.npy");
    }
    const NetworkSpec spec = load_network_file(file.path(), load);
    std::vector<InputFile> inputs = network_inputs(spec);
    inputs.push_back({a.network, "the network file"});  // a NIR file, when it was imported
    refuse_output_over_inputs("-o", a.output, inputs);
    refuse_output_over_inputs("--summary-json", a.summary_json, inputs);
    const auto build_start = std::chrono::steady_clock::now();
    Network network = build_network(spec, &g_stop_requested);
    const double build_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - build_start).count();
    const BuildFigures build{
        network.neuron_count(), network.synapse_count(),
        network.synapse_count() > 0
            ? static_cast<double>(network.synapse_bytes()) / network.synapse_count()
            : 0.0,
        build_s};

    ProgressReporter progress(network.dt_ms, !a.quiet);
    RunOptions options;
    options.backend = backend;
    options.threads = a.threads;
    if (!a.output.empty()) options.trace_path = a.output;
    options.progress = [&progress](Step done, Step total) { progress.update(done, total); };
    if (!a.quiet) {
      options.announce = [](const Backend& backend) {
        if (!backend.description().empty()) std::printf("%s\n", backend.description().c_str());
      };
    }
    options.stop = &g_stop_requested;
    const RunSummary run = run_network(network, options);
    progress.finish();

    if (!a.quiet) print_summary(a, network, build, run);
    if (!a.summary_json.empty()) write_summary_json(a.summary_json, a, network, build, run);
    if (!run.complete) {
      std::fprintf(
          stderr, "snnsim run: interrupted after %.3f s of %.3f s simulated%s\n",
          run.simulated_ms * 1e-3, network.duration_ms * 1e-3,
          a.output.empty() ? "" : "; the trace keeps what was recorded, marked incomplete");
      return kExitInterrupted;
    }
    return 0;
  } catch (const BuildInterrupted&) {
    std::fprintf(stderr,
                 "snnsim run: interrupted while building the network; nothing was simulated%s\n",
                 a.output.empty() ? "" : " and no trace written");
    return kExitInterrupted;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr,
                 "snnsim run: %s: out of memory while building or running the network "
                 "(snnsim validate estimates what it needs)\n",
                 a.network.c_str());
    return kExitFailure;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "snnsim run: %s\n", error.what());
    return kExitFailure;
  }
}

}  // namespace snnsim::cli
