// Distributed runs (docs/distributed.md). Without MPI: a partitioned build holds exactly the
// undistributed network's neurons and synapses, block by block, and ranks played by threads of
// this process (an in-memory SpikeExchange) report the undistributed run's spikes and samples
// bit for bit. With MPI: `mpirun -np 1/2/4` runs of the examples give the single process's trace
// bit for bit, one rank's failure ends every rank with one line, and SIGTERM to one rank stops
// them all with the trace marked incomplete.
#include <gtest/gtest.h>

#include <barrier>
#include <numeric>
#include <thread>

#include "networks/builder.h"
#include "networks/network_file.h"
#include "sim/cpu_backend.h"
#include "sim/emulated_device.h"
#include "sim/grid_backend.h"
#include "sim/trace_reader.h"
#include "tests/test_support.h"

namespace snnsim {
namespace {

using testing::Recording;
using testing::run_steps;

/// Every rule, per-synapse weights and delays from 0.5 ms, drawn initial values, a population
/// with random dynamics and a probe over neurons held by different ranks.
const char* kNetwork = R"({
  "format": "snnsim-network", "version": 1,
  "simulation": {"dt": "0.1 ms", "duration": "60 ms", "seed": 5},
  "populations": [
    {"name": "E", "model": "lif_psc_exp", "size": 401,
     "parameters": {"V_th": "-60 mV"},
     "initial": {"v": {"uniform": {"low": "-70 mV", "high": "-60 mV"}}}},
    {"name": "I", "model": "lif_psc_delta", "size": 103,
     "parameters": {"C_m": "1 pF", "tau_m": "20 ms", "E_L": "0 mV", "V_reset": "10 mV", "V_th": "20 mV"},
     "initial": {"v": {"uniform": {"low": "0 mV", "high": "20 mV"}}}},
    {"name": "P", "model": "poisson_generator", "size": 57, "parameters": {"rate": "40 Hz"}}
  ],
  "projections": [
    {"source": "E", "target": "E", "receptor": "ex", "connectivity": {"rule": "fixed_indegree", "indegree": 40},
     "weight": {"normal": {"mean": "60 pA", "std": "20 pA"}}, "delay": {"uniform": {"low": "0.5 ms", "high": "3 ms"}}},
    {"source": "E", "target": "I", "connectivity": {"rule": "fixed_probability", "p": 0.1},
     "weight": {"uniform": {"low": "0.1 mV", "high": "0.5 mV"}}, "delay": "1 ms"},
    {"source": "I", "target": "E", "receptor": "in", "connectivity": {"rule": "fixed_outdegree", "outdegree": 30},
     "weight": "80 pA", "delay": {"uniform": {"low": "0.8 ms", "high": "2 ms"}}},
    {"source": "P", "target": "E", "receptor": "ex", "connectivity": {"rule": "all_to_all"}, "weight": "30 pA", "delay": "0.7 ms"},
    {"source": "P", "target": "I", "connectivity": {"rule": "explicit", "sources": [0, 5, 56, 3], "targets": [102, 0, 51, 50]},
     "weight": {"normal": {"mean": "1 mV", "std": "0.2 mV"}}, "delay": "0.5 ms"}
  ],
  "inputs": [{"type": "poisson", "name": "drive", "target": "I", "rate": "6 kHz", "weight": "0.1 mV"},
             {"type": "poisson", "name": "drive-E", "target": "E", "receptor": "ex", "rate": "10 kHz", "weight": "60 pA"}],
  "recording": {"spikes": "all",
                "state": [{"population": "E", "variables": ["v"], "neurons": [400, 0, 250, 133, 7], "interval": "0.3 ms"}]}
})";

/// Neurons whose targets are on their own rank: spikes go all-to-all from 4 ranks on.
const char* kLocalNetwork = R"({
  "format": "snnsim-network", "version": 1,
  "simulation": {"dt": "0.1 ms", "duration": "80 ms", "seed": 3},
  "populations": [
    {"name": "A", "model": "lif_psc_delta", "size": 400,
     "parameters": {"C_m": "1 pF", "tau_m": "20 ms", "E_L": "0 mV", "V_reset": "10 mV", "V_th": "20 mV"},
     "initial": {"v": {"uniform": {"low": "0 mV", "high": "20 mV"}}}},
    {"name": "B", "model": "lif_psc_delta", "size": 400,
     "parameters": {"C_m": "1 pF", "tau_m": "20 ms", "E_L": "0 mV", "V_reset": "10 mV", "V_th": "20 mV"}}
  ],
  "projections": [
    {"source": "A", "target": "B", "connectivity": {"rule": "one_to_one"},
     "weight": {"uniform": {"low": "5 mV", "high": "15 mV"}}, "delay": "1 ms"},
    {"source": "B", "target": "A", "connectivity": {"rule": "one_to_one"}, "weight": "-3 mV", "delay": "2 ms"}
  ],
  "inputs": [{"type": "poisson", "name": "drive", "target": "A", "rate": "20 kHz", "weight": "0.1 mV"}],
  "recording": {"spikes": "all"}
})";

struct Synapse {
  NeuronIndex source, target;
  float weight;
  std::uint16_t delay;
  bool operator==(const Synapse&) const = default;
};

/// Projection `j`'s synapses in CSR order, targets made global with `first_target`.
std::vector<Synapse> synapses_of(const Network& network, std::size_t j) {
  const Projection& projection = network.projections[j];
  const Connectivity& c = projection.synapses;
  const NeuronIndex first_target = network.populations[projection.target].first;
  std::vector<Synapse> out;
  for (NeuronIndex s = 0; s < c.source_size; ++s) {
    for (std::uint64_t k = c.row_offsets[s]; k < c.row_offsets[s + 1]; ++k) {
      out.push_back({s, first_target + c.targets[k], c.weights.empty() ? c.weight : c.weights[k],
                     c.delays.empty() ? c.delay : c.delays[k]});
    }
  }
  return out;
}

TEST(PartitionedBuild, RanksHoldTheBlocksOfTheWholeNetwork) {
  const NetworkSpec spec = parse_network(kNetwork, "net.json");
  const Network whole = build_network(spec);
  for (int ranks : {2, 3, 7}) {
    std::vector<std::vector<Synapse>> synapses(whole.projections.size());
    std::vector<std::vector<float>> voltages(whole.populations.size());
    for (int rank = 0; rank < ranks; ++rank) {
      const Network part = build_network(spec, nullptr, {rank, ranks});
      for (std::size_t p = 0; p < part.populations.size(); ++p) {
        const Population& population = part.populations[p];
        EXPECT_EQ(population.total, whole.populations[p].size());
        EXPECT_EQ(population.first, whole.populations[p].size() * rank / ranks);
        if (population.model->state.empty()) continue;
        const auto v = population.dynamics->state(0);
        voltages[p].insert(voltages[p].end(), v.begin(), v.end());
      }
      for (std::size_t j = 0; j < part.projections.size(); ++j) {
        EXPECT_EQ(part.projections[j].synapses.source_size,
                  whole.projections[j].synapses.source_size);
        const std::vector<Synapse> mine = synapses_of(part, j);
        synapses[j].insert(synapses[j].end(), mine.begin(), mine.end());
      }
    }
    for (std::size_t p = 0; p < whole.populations.size(); ++p) {
      if (whole.populations[p].model->state.empty()) continue;
      const auto v = whole.populations[p].dynamics->state(0);
      EXPECT_EQ(voltages[p], std::vector<float>(v.begin(), v.end())) << ranks << " ranks";
    }
    for (std::size_t j = 0; j < whole.projections.size(); ++j) {
      std::vector<Synapse> expected = synapses_of(whole, j);
      ASSERT_GT(expected.size(), 3u);
      // The ranks' rows, rank after rank, are the whole rows cut by target block.
      auto by_pair = [](const Synapse& a, const Synapse& b) {
        return std::tie(a.source, a.target) < std::tie(b.source, b.target);
      };
      std::stable_sort(expected.begin(), expected.end(), by_pair);
      std::stable_sort(synapses[j].begin(), synapses[j].end(), by_pair);
      EXPECT_EQ(synapses[j], expected) << "projection " << j << ", " << ranks << " ranks";
    }
  }
}

/// Ranks played by threads: each posts what it sends and waits for the others at a barrier.
class Board {
 public:
  explicit Board(int ranks)
      : ranks_(ranks),
        barrier_(ranks),
        sent_(ranks),
        stops_(ranks),
        floats_(ranks),
        values_(ranks),
        received_(ranks),
        views_(ranks) {}
  int ranks() const { return ranks_; }

  /// Rank `rank` sends sent[r] to rank r (sent has one entry: to every rank).
  SpikeExchange::Received exchange(int rank, std::span<const IntervalSpikes> sent, bool stop) {
    sent_[rank] = sent;
    stops_[rank] = stop;
    barrier_.arrive_and_wait();
    // Copies, so that a rank may refill what it sent once everyone has copied it.
    std::vector<IntervalSpikes>& mine = received_[rank];
    mine.clear();
    views_[rank].clear();
    bool any = false;
    for (int q = 0; q < ranks_; ++q) {
      mine.push_back(sent_[q][sent_[q].size() == 1 ? 0 : rank]);
      any = any || stops_[q];
    }
    for (const IntervalSpikes& from : mine)
      views_[rank].push_back(from.view());
    barrier_.arrive_and_wait();
    return {views_[rank], any};
  }

  void gather(int rank, std::span<const float> local, std::vector<float>& all) {
    floats_[rank] = local;
    barrier_.arrive_and_wait();
    all.clear();
    if (rank == 0) {
      for (int r = 0; r < ranks_; ++r)
        all.insert(all.end(), floats_[r].begin(), floats_[r].end());
    }
    barrier_.arrive_and_wait();
  }

  std::vector<double> values(int rank, double value) {
    values_[rank] = value;
    barrier_.arrive_and_wait();
    std::vector<double> out(values_);
    barrier_.arrive_and_wait();
    return out;
  }

 private:
  int ranks_;
  std::barrier<> barrier_;
  std::vector<std::span<const IntervalSpikes>> sent_;
  std::vector<bool> stops_;
  std::vector<std::span<const float>> floats_;
  std::vector<double> values_;
  std::vector<std::vector<IntervalSpikes>> received_;
  std::vector<std::vector<RankSpikes>> views_;
};

class ThreadExchange final : public SpikeExchange {
 public:
  ThreadExchange(Board& board, int rank) : board_(board), rank_(rank) {}
  Partition partition() const override { return {rank_, board_.ranks()}; }
  // The all-gather happens at its start; its finish hands over what arrived.
  void start_all_gather(const IntervalSpikes& local, bool stop) override {
    ++exchanges_;
    gathered_ = board_.exchange(rank_, std::span(&local, 1), stop);
  }
  void progress() override {}
  Received finish_all_gather() override { return gathered_; }
  Received all_to_all(std::span<const IntervalSpikes> outgoing, bool stop) override {
    ++exchanges_;
    return board_.exchange(rank_, outgoing, stop);
  }
  void gather_to_root(std::span<const float> local, std::vector<float>& all) override {
    board_.gather(rank_, local, all);
  }
  std::uint64_t min_over_ranks(std::uint64_t value) override {
    const std::vector<double> all = board_.values(rank_, static_cast<double>(value));
    return static_cast<std::uint64_t>(*std::min_element(all.begin(), all.end()));
  }
  std::uint64_t sum_over_ranks(std::uint64_t value) override {
    const std::vector<double> all = board_.values(rank_, static_cast<double>(value));
    return static_cast<std::uint64_t>(std::accumulate(all.begin(), all.end(), 0.0));
  }
  std::vector<double> gather_values(double value) override {
    std::vector<double> all = board_.values(rank_, value);
    if (rank_ != 0) all.clear();
    return all;
  }
  ExchangeTimes times() const override { return {0, 0, 0, exchanges_}; }

 private:
  Board& board_;
  int rank_;
  std::uint64_t exchanges_ = 0;
  Received gathered_;
};

/// Stops once `after` steps were reported (a Ctrl-C on one rank).
struct StoppingRecording final : Recording {
  Step after = ~Step{0};
  Step reported = 0;
  void on_step(Step step, std::span<const std::span<const NeuronIndex>> spikes) override {
    Recording::on_step(step, spikes);
    ++reported;
  }
  bool stop_requested() override { return reported >= after; }
};

/// What the ranks of run_as_ranks reported.
struct RankRuns {
  std::vector<StoppingRecording> recordings;
  std::vector<Step> completed;
  std::string description;  ///< rank 0's backend's
};

/// A rank's backend: the CPU's with 1 or 2 threads, or the CUDA backend on the emulated device.
using MakeBackend = std::unique_ptr<Backend> (*)(Network&, SpikeExchange&, int rank);

std::unique_ptr<Backend> cpu_backend(Network& network, SpikeExchange& exchange, int rank) {
  return std::make_unique<CpuBackend>(network, 1 + rank % 2, &exchange);
}

std::unique_ptr<Backend> emulated_cuda_backend(Network& network, SpikeExchange& exchange, int) {
  DevicePlanOptions options;
  options.exchange = &exchange;
  options.max_chunk_steps = 3;  // chunks shorter than the shortest delay, too
  return std::make_unique<GridBackend<EmulatedDevice>>(network, options);
}

/// Runs `spec` as `ranks` ranks played by threads, exchanges overlapped with updates where they
/// can be when `overlap`; rank `stopping_rank` asks to stop once told of `stop_after` steps.
RankRuns run_as_ranks(const NetworkSpec& spec, int ranks, bool overlap = true,
                      int stopping_rank = -1, Step stop_after = 0,
                      MakeBackend make_backend = cpu_backend) {
  Board board(ranks);
  std::vector<Network> parts;
  for (int rank = 0; rank < ranks; ++rank)
    parts.push_back(build_network(spec, nullptr, {rank, ranks}));
  RankRuns runs{std::vector<StoppingRecording>(ranks), std::vector<Step>(ranks), {}};
  if (stopping_rank >= 0) runs.recordings[stopping_rank].after = stop_after;
  std::vector<std::thread> threads;
  for (int rank = 0; rank < ranks; ++rank) {
    threads.emplace_back([&, rank] {
      ThreadExchange exchange(board, rank);
      exchange.overlap = overlap;
      const std::unique_ptr<Backend> backend = make_backend(parts[rank], exchange, rank);
      runs.completed[rank] = backend->run(0, parts[rank].steps(), runs.recordings[rank]);
      if (rank == 0) runs.description = backend->description();
    });
  }
  for (std::thread& thread : threads)
    thread.join();
  return runs;
}

/// Every rank ran to the end and reported the undistributed run's spikes; rank 0 its samples.
void expect_undistributed(const RankRuns& runs, const Recording& reference, Step steps) {
  const std::size_t ranks = runs.recordings.size();
  for (std::size_t rank = 0; rank < ranks; ++rank) {
    EXPECT_EQ(runs.completed[rank], steps);
    EXPECT_EQ(runs.recordings[rank].spikes, reference.spikes) << "rank " << rank << " of " << ranks;
  }
  EXPECT_EQ(runs.recordings[0].samples, reference.samples) << ranks << " ranks";
}

TEST(DistributedRun, RanksReportTheUndistributedSpikesAndSamples) {
  const NetworkSpec spec = parse_network(kNetwork, "net.json");
  Network whole = build_network(spec);
  const Recording reference = run_steps(whole, whole.steps(), 2);
  ASSERT_GT(reference.spikes[0].size(), 200u) << "the network must be active";
  ASSERT_GT(reference.spikes[1].size(), 100u);
  ASSERT_EQ(reference.samples.size(), 1u);
  for (const auto [ranks, overlap] : {std::pair{1, true}, {2, true}, {3, true}, {3, false}}) {
    const RankRuns runs = run_as_ranks(spec, ranks, overlap);
    // Every neuron has targets on every rank: all-gather, and every rank sees every spike. The
    // shortest delay, 5 steps, lets exchanges overlap the updates (every 2 steps).
    EXPECT_NE(runs.description.find("MPI_Allgatherv"), std::string::npos) << runs.description;
    EXPECT_EQ(runs.description.find("overlapping") != std::string::npos, ranks > 1 && overlap)
        << runs.description;
    expect_undistributed(runs, reference, whole.steps());
  }
}

TEST(DistributedRun, TheCudaBackendOnEveryRankGivesTheUndistributedSpikesAndSamples) {
  // The CUDA backend's step loop and kernel bodies on the emulated device, one per rank.
  const NetworkSpec spec = parse_network(kNetwork, "net.json");
  Network whole = build_network(spec);
  const Recording reference = run_steps(whole, whole.steps());
  for (int ranks : {1, 3}) {
    expect_undistributed(run_as_ranks(spec, ranks, true, -1, 0, emulated_cuda_backend), reference,
                         whole.steps());
  }
}

TEST(DistributedRun, SpikesGoOnlyWhereTheyHaveTargetsWhenThatHalvesTheTraffic) {
  const NetworkSpec spec = parse_network(kLocalNetwork, "local.json");
  Network whole = build_network(spec);
  const Recording reference = run_steps(whole, whole.steps());
  ASSERT_GT(reference.spikes[0].size(), 300u) << "the network must be active";
  ASSERT_GT(reference.spikes[1].size(), 100u);
  for (int ranks : {3, 4, 5}) {
    const RankRuns runs = run_as_ranks(spec, ranks);
    // A neuron's spikes reach its own rank and rank 0: 1 + (R - 1) / R ranks on average, at most
    // half of them from 4 ranks on.
    const bool all_to_all = ranks >= 4;
    EXPECT_NE(runs.description.find(all_to_all ? "MPI_Alltoallv" : "MPI_Allgatherv"),
              std::string::npos)
        << ranks << " ranks: " << runs.description;
    EXPECT_EQ(runs.recordings[0].spikes, reference.spikes) << ranks << " ranks";
  }
}

TEST(DistributedRun, AStopOnOneRankEndsEveryRankAtTheSameStep) {
  const RankRuns runs = run_as_ranks(parse_network(kNetwork, "net.json"), 3, true, 2, 100);
  // Rank 2 asks once it has been told of 100 steps. The request travels with the next exchange
  // to start and is acted on when that one completes: with the shortest delay of 5 steps,
  // exchanges every 2 steps, each completing 2 steps later, so within 3 intervals.
  for (int rank = 0; rank < 3; ++rank) {
    EXPECT_EQ(runs.completed[rank], runs.completed[0]) << "rank " << rank;
    EXPECT_EQ(runs.recordings[rank].reported, runs.completed[0]) << "rank " << rank;
  }
  EXPECT_GT(runs.completed[0], 100u);
  EXPECT_LE(runs.completed[0], 106u);
}

#ifdef SNNSIM_MPIEXEC
using testing::CommandLineTest;
using testing::read_file;
using testing::run_command;

/// An mpirun command line: Open MPI refuses to run as root (CI does) and to start more ranks than
/// cores unless told.
std::string mpirun(const std::string& arguments) {
  return "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 " +
         std::string(SNNSIM_MPIEXEC) + " --oversubscribe " + arguments;
}

std::string snnsim_run(const std::string& arguments) {
  return std::string(SNNSIM_BINARY) + " run " + arguments;
}

class MpiRun : public CommandLineTest {};

TEST_F(MpiRun, ExamplesGiveTheSingleProcessTraceBitForBit) {
  const std::string examples = std::string(SNNSIM_SOURCE_DIR) + "/examples/";
  // COBA's probe moved onto neurons that different ranks hold.
  std::string coba = read_file(examples + "coba.json");
  const std::string probe = R"("neurons": [0, 1, 2, 3, 4], "interval": "0.1 ms")";
  ASSERT_NE(coba.find(probe), std::string::npos);
  coba.replace(coba.find(probe), probe.size(),
               R"("neurons": [3199, 0, 1700, 1601, 800], "interval": "0.3 ms")");
  write("coba.json", coba);
  write("local.json", kLocalNetwork);  // all-to-all from 4 ranks on
  for (const std::string& network :
       {examples + "brunel.json", path("coba.json"), path("local.json")}) {
    const std::string options = " --duration 100ms -q -o ";
    const auto single = run_command(snnsim_run(network + options + path("single.h5")));
    ASSERT_EQ(single.status, 0) << single.output;
    for (int ranks : {1, 2, 4}) {
      const std::string trace = path("ranks" + std::to_string(ranks) + ".h5");
      const auto run = run_command(
          mpirun("-np " + std::to_string(ranks) + " " + snnsim_run(network + options + trace)));
      ASSERT_EQ(run.status, 0) << run.output;
      const auto compare = run_command(std::string(SNNSIM_BINARY) + " trace compare --exact " +
                                       path("single.h5") + " " + trace);
      EXPECT_EQ(compare.status, 0) << network << ", " << ranks << " ranks:\n" << compare.output;
    }
  }
}

TEST_F(MpiRun, AFileMissingOnOneRankEndsEveryRankWithOneLine) {
  const std::string brunel = std::string(SNNSIM_SOURCE_DIR) + "/examples/brunel.json";
  // Two programs in one run: rank 1 is given a file that is not there.
  const auto run =
      run_command(mpirun("-np 1 " + snnsim_run(brunel + " -q -o " + path("t.h5")) + " : -np 1 " +
                         snnsim_run(path("absent.json") + " -q -o " + path("t.h5"))));
  EXPECT_EQ(run.status, 1) << run.output;
  std::size_t lines = 0;
  for (std::size_t at = run.output.find("snnsim run:"); at != std::string::npos;
       at = run.output.find("snnsim run:", at + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, 1u) << run.output;
  EXPECT_NE(run.output.find("snnsim run: rank 1: " + path("absent.json")), std::string::npos)
      << run.output;
  EXPECT_FALSE(std::filesystem::exists(path("t.h5")));
  EXPECT_FALSE(std::filesystem::exists(path("t.h5.partial")));
}

TEST_F(MpiRun, SigtermOnOneRankStopsEveryRankWithTheTraceMarkedIncomplete) {
  const std::string brunel = std::string(SNNSIM_SOURCE_DIR) + "/examples/brunel.json";
  const std::string run_long = snnsim_run(brunel + " --duration 60s -q -o " + path("t.h5"));
  // Rank 1 is a shell that starts snnsim and sends it SIGTERM once rank 0 has opened the trace
  // (built and ready to run).
  const auto run = run_command(mpirun("-np 1 " + run_long + " : -np 1 sh -c '" + run_long +
                                      " & p=$!; i=0; until [ -e " + path("t.h5.partial") +
                                      " ] || [ $i -ge 200 ]; do sleep 0.1; i=$((i+1)); done; "
                                      "sleep 0.3; kill -TERM $p; wait $p'"));
  EXPECT_EQ(run.status, 130) << run.output;
  const TraceReader trace(path("t.h5"));
  EXPECT_FALSE(trace.complete());
  EXPECT_GT(trace.attribute_uint("steps_completed"), 0u);
  EXPECT_LT(trace.attribute_uint("steps_completed"), 600000u);
}
#else
TEST(MpiRun, ABuildWithoutMpiRefusesToRunUnderMpirun) {
  const auto run = testing::run_command("OMPI_COMM_WORLD_SIZE=2 " + std::string(SNNSIM_BINARY) +
                                        " run " + SNNSIM_SOURCE_DIR + "/examples/brunel.json");
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.output.find("this build has no MPI"), std::string::npos) << run.output;
}
#endif

}  // namespace
}  // namespace snnsim
