// snnsim run NET.json: build the network, simulate it, write the trace, print a summary.

#include <omp.h>
#include <unistd.h>

#include <algorithm>
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
#include "sim/mpi_exchange.h"
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
    "Under mpirun, a distributed run: each rank holds a block of every population, the spikes\n"
    "are those of one process, and rank 0 prints and writes the trace (docs/distributed.md).\n"
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
  std::printf("  backend    %s, %d thread%s%s\n", run.backend.c_str(), run.threads,
              run.threads == 1 ? "" : "s", run.ranks.empty() ? "" : " per rank");
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

/// A distributed run's per-rank figures, gathered on rank 0 (collective: every rank calls it).
struct RankBuild {
  std::vector<double> build_s, peak_mb;
};

RankBuild gather_rank_build(SpikeExchange& exchange, double build_s) {
  RankBuild figures;
  figures.build_s = exchange.gather_values(build_s);
  figures.peak_mb = exchange.gather_values(peak_resident_mb());
  return figures;
}

void write_summary_json(const std::string& path, const Arguments& a, const Network& network,
                        const BuildFigures& build, const RunSummary& run,
                        const RankBuild& rank_build) {
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
  for (std::size_t r = 0; r < run.ranks.size(); ++r) {
    const RankFigures& f = run.ranks[r];
    j["ranks"].push_back({{"build_s", rank_build.build_s[r]},
                          {"update_s", f.update_s},
                          {"waiting_s", f.waiting_s},
                          {"communication_s", f.communication_s},
                          {"bytes_received", f.bytes_received},
                          {"peak_rss_mb", rank_build.peak_mb[r]}});
  }
  if (!run.ranks.empty()) {
    j["exchanges"] = run.exchanges;
    j["distribution"] = run.distribution;
  }
  write_text_atomically(path, j.dump(2) + "\n");
}

void print_ranks(const RunSummary& run, const RankBuild& build) {
  std::printf("\n  %s: %s exchanges\n", run.distribution.c_str(), grouped(run.exchanges).c_str());
  std::printf("  %-6s %9s %9s %9s %9s %11s %11s %9s\n", "rank", "build s", "update s", "wait s",
              "comm s", "MB received", "MB/s", "peak MB");
  for (std::size_t r = 0; r < run.ranks.size(); ++r) {
    const RankFigures& f = run.ranks[r];
    std::printf("  %-6zu %9.3f %9.3f %9.3f %9.3f %11.2f %11.2f %9.0f\n", r, build.build_s[r],
                f.update_s, f.waiting_s, f.communication_s, f.bytes_received * 1e-6,
                run.wall_s > 0 ? f.bytes_received * 1e-6 / run.wall_s : 0.0, build.peak_mb[r]);
  }
}

}  // namespace

int command_run(int argc, const char* const* argv) {
  // Started by mpirun: this process is one rank of a distributed run (docs/distributed.md).
  std::unique_ptr<MpiSession> mpi;
  if (launched_by_mpi()) {
    try {
      mpi = std::make_unique<MpiSession>();
    } catch (const std::exception& error) {
      std::fprintf(stderr, "snnsim run: %s\n", error.what());
      return kExitFailure;
    }
  }
  const Partition partition = mpi ? mpi->partition() : Partition{};
  Arguments a;
  try {
    if (!parse_command_line(argc, argv, kUsage,
                            {OptionGroup::network, OptionGroup::run, OptionGroup::output}, a)) {
      return 0;
    }
  } catch (const std::exception& error) {
    if (partition.rank == 0) std::fprintf(stderr, "snnsim run: %s\n", error.what());
    return kExitUsage;
  }
  // Ranks other than 0 print nothing but their failures; rank 0 writes the files.
  if (partition.rank != 0) {
    a.quiet = true;
    a.summary_json.clear();
  }
  // A rank bound to some cores (Open MPI binds each rank to one core up to 2 ranks, to a socket
  // beyond) uses those; an unbound one its share of the machine's.
  if (mpi && a.threads <= 0) {
    const int machine = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
    const int usable = omp_get_num_procs();
    a.threads = usable < machine ? usable : std::max(1, machine / mpi->ranks_on_this_machine());
  }

  // Everything that can fail before the first step, on any rank; a distributed run agrees on
  // the outcome before going on, so one rank's failure ends them all with its message.
  const StopOnSignals stop_on_signals;
  std::string failure;
  int failure_code = kExitFailure;
  Network network;
  BuildFigures build{};
  std::unique_ptr<SpikeExchange> exchange;
  std::unique_ptr<PreparedRun> prepared;
  ProgressReporter progress(0.1, false);
  RunOptions options;
  try {
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
    network = build_network(spec, &g_stop_requested, partition);
    build.build_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - build_start).count();

    progress = ProgressReporter(network.dt_ms, !a.quiet);
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
    if (mpi) {
      exchange = mpi->make_exchange();
      exchange->overlap = !a.blocking_exchange;
      options.exchange = exchange.get();
    }
    prepared = std::make_unique<PreparedRun>(network, options);
  } catch (const BuildInterrupted&) {
    failure = std::string("interrupted while building the network; nothing was simulated") +
              (a.output.empty() ? "" : " and no trace written");
    failure_code = kExitInterrupted;
  } catch (const std::bad_alloc&) {
    failure = a.network +
              ": out of memory while building or running the network (snnsim validate "
              "estimates what it needs)";
  } catch (const std::exception& error) {
    failure = error.what();
  }
  if (mpi) {
    if (const auto first = mpi->first_failure(failure, failure_code)) {
      if (partition.rank == 0) {
        std::fprintf(stderr, "snnsim run: %s%s\n",
                     first->rank == 0 ? "" : ("rank " + std::to_string(first->rank) + ": ").c_str(),
                     first->message.c_str());
      }
      return first->exit_code;
    }
  } else if (!failure.empty()) {
    std::fprintf(stderr, "snnsim run: %s\n", failure.c_str());
    return failure_code;
  }

  try {
    for (const Population& population : network.populations)
      build.neurons += population.total;
    build.synapses = network.synapse_count();
    std::uint64_t synapse_bytes = network.synapse_bytes();
    if (exchange) {
      build.synapses = exchange->sum_over_ranks(build.synapses);
      synapse_bytes = exchange->sum_over_ranks(synapse_bytes);
    }
    build.bytes_per_synapse =
        build.synapses > 0 ? static_cast<double>(synapse_bytes) / build.synapses : 0.0;
    const RunSummary run = prepared->run();
    progress.finish();
    RankBuild rank_build;
    if (exchange) rank_build = gather_rank_build(*exchange, build.build_s);

    if (!a.quiet) {
      print_summary(a, network, build, run);
      if (exchange) {
        print_ranks(run, rank_build);
      }
    }
    if (!a.summary_json.empty())
      write_summary_json(a.summary_json, a, network, build, run, rank_build);
    if (!run.complete) {
      if (partition.rank == 0) {
        std::fprintf(
            stderr, "snnsim run: interrupted after %.3f s of %.3f s simulated%s\n",
            run.simulated_ms * 1e-3, network.duration_ms * 1e-3,
            a.output.empty() ? "" : "; the trace keeps what was recorded, marked incomplete");
      }
      return kExitInterrupted;
    }
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "snnsim run: %s%s\n",
                 mpi ? ("rank " + std::to_string(partition.rank) + ": ").c_str() : "",
                 error.what());
    // The other ranks wait for this one in the next exchange: end them too.
    if (mpi) mpi->abort_all(kExitFailure);
    return kExitFailure;
  }
}

}  // namespace snnsim::cli
