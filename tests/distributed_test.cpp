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

/// Ranks played by threads: each posts its part and waits for the others at a barrier.
class Board {
 public:
  explicit Board(int ranks)
      : ranks_(ranks),
        barrier_(ranks),
        spikes_(ranks),
        floats_(ranks),
        values_(ranks),
        stops_(ranks) {}
  int ranks() const { return ranks_; }

  bool exchange(int rank, const IntervalSpikes& local, bool stop, IntervalSpikes& all) {
    spikes_[rank] = &local;
    stops_[rank] = stop;
    barrier_.arrive_and_wait();
    std::vector<std::uint32_t> counts;
    std::vector<NeuronIndex> neurons;
    bool any = false;
    for (int r = 0; r < ranks_; ++r) {
      counts.insert(counts.end(), spikes_[r]->counts().begin(), spikes_[r]->counts().end());
      neurons.insert(neurons.end(), spikes_[r]->neurons().begin(), spikes_[r]->neurons().end());
      any = any || stops_[r];
    }
    all.merge(counts, neurons, local.counts().size(), ranks_);
    barrier_.arrive_and_wait();  // nobody refills its part before everyone has read it
    return any;
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
  std::vector<const IntervalSpikes*> spikes_;
  std::vector<std::span<const float>> floats_;
  std::vector<double> values_;
  std::vector<bool> stops_;
};

class ThreadExchange final : public SpikeExchange {
 public:
  ThreadExchange(Board& board, int rank) : board_(board), rank_(rank) {}
  Partition partition() const override { return {rank_, board_.ranks()}; }
  bool exchange(const IntervalSpikes& local, bool stop, IntervalSpikes& all) override {
    ++exchanges_;
    return board_.exchange(rank_, local, stop, all);
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

TEST(DistributedRun, RanksReportTheUndistributedSpikesAndSamples) {
  const NetworkSpec spec = parse_network(kNetwork, "net.json");
  Network whole = build_network(spec);
  const Recording reference = run_steps(whole, whole.steps(), 2);
  ASSERT_GT(reference.spikes[0].size(), 200u) << "the network must be active";
  ASSERT_GT(reference.spikes[1].size(), 100u);
  ASSERT_EQ(reference.samples.size(), 1u);
  for (int ranks : {1, 2, 3}) {
    Board board(ranks);
    std::vector<Network> parts;
    for (int rank = 0; rank < ranks; ++rank)
      parts.push_back(build_network(spec, nullptr, {rank, ranks}));
    std::vector<StoppingRecording> recordings(ranks);
    std::vector<Step> completed(ranks);
    std::vector<std::thread> threads;
    for (int rank = 0; rank < ranks; ++rank) {
      threads.emplace_back([&, rank] {
        ThreadExchange exchange(board, rank);
        CpuBackend backend(parts[rank], 1 + rank % 2, &exchange);
        completed[rank] = backend.run(0, parts[rank].steps(), recordings[rank]);
      });
    }
    for (std::thread& thread : threads)
      thread.join();
    for (int rank = 0; rank < ranks; ++rank) {
      EXPECT_EQ(completed[rank], whole.steps());
      EXPECT_EQ(recordings[rank].spikes, reference.spikes) << "rank " << rank << " of " << ranks;
    }
    EXPECT_EQ(recordings[0].samples, reference.samples) << ranks << " ranks";
  }
}

TEST(DistributedRun, AStopOnOneRankEndsEveryRankAtTheSameStep) {
  const NetworkSpec spec = parse_network(kNetwork, "net.json");
  constexpr int kRanks = 3;
  Board board(kRanks);
  std::vector<Network> parts;
  for (int rank = 0; rank < kRanks; ++rank)
    parts.push_back(build_network(spec, nullptr, {rank, kRanks}));
  std::vector<StoppingRecording> recordings(kRanks);
  recordings[2].after = 100;  // rank 2 alone is asked to stop
  std::vector<Step> completed(kRanks);
  std::vector<std::thread> threads;
  for (int rank = 0; rank < kRanks; ++rank) {
    threads.emplace_back([&, rank] {
      ThreadExchange exchange(board, rank);
      CpuBackend backend(parts[rank], 1, &exchange);
      completed[rank] = backend.run(0, parts[rank].steps(), recordings[rank]);
    });
  }
  for (std::thread& thread : threads)
    thread.join();
  // Rank 2 asks once it has been told of 100 steps; the shortest delay is 5 steps, so the request
  // travels with the exchange after steps [100, 105), and every rank stops there.
  for (int rank = 0; rank < kRanks; ++rank) {
    EXPECT_EQ(completed[rank], 105u) << "rank " << rank;
    EXPECT_EQ(recordings[rank].reported, 105u) << "rank " << rank;
  }
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
  for (const std::string& network : {examples + "brunel.json", path("coba.json")}) {
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
