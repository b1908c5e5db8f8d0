// The snnsim command as a user runs it: exit codes, one-line errors, no output file after a
// failure, traces that round-trip, and Ctrl-C keeping a readable trace marked incomplete.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "networks/builder.h"
#include "networks/network_file.h"
#include "sim/trace_reader.h"
#include "tests/test_support.h"

namespace snnsim {
namespace {

namespace fs = std::filesystem;

using testing::CommandResult;
using testing::run_snnsim;

using Cli = testing::CommandLineTest;

const char* kSmallNetwork = R"({
  "format": "snnsim-network", "version": 1,
  "simulation": {"dt": "0.1 ms", "duration": "100 ms", "seed": 4},
  "populations": [
    {"name": "P", "model": "poisson_generator", "size": 50, "parameters": {"rate": "40 Hz"}},
    {"name": "N", "model": "lif_psc_exp", "size": 20, "parameters": {"I_e": "300 pA"}}
  ],
  "projections": [{"source": "P", "target": "N", "receptor": "ex", "connectivity": {"rule": "fixed_probability", "p": 0.5}, "weight": "80 pA"}],
  "recording": {"spikes": "all", "state": [{"population": "N", "variables": ["v"], "neurons": [0, 5], "interval": "0.5 ms"}]}
})";

TEST_F(Cli, HelpAndVersion) {
  EXPECT_EQ(run_snnsim("--version").status, 0);
  EXPECT_THAT(run_snnsim("--version").output, ::testing::HasSubstr("snnsim 0."));
  for (const char* command : {"run --help", "validate --help", "--help"}) {
    const CommandResult r = run_snnsim(command);
    EXPECT_EQ(r.status, 0) << command;
    EXPECT_THAT(r.output, ::testing::HasSubstr("usage: snnsim")) << command;
  }
  EXPECT_THAT(run_snnsim("run --help").output, ::testing::HasSubstr("--threads"));
  EXPECT_EQ(run_snnsim("frobnicate").status, 2);
  EXPECT_EQ(run_snnsim("run --no-such-option x.json").status, 2);
}

TEST_F(Cli, RunWritesATraceThatMatchesTheSimulation) {
  write("net.json", kSmallNetwork);
  const CommandResult r = run_snnsim("run " + path("net.json") + " -t 2 -o " + path("t.h5"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, ::testing::HasSubstr("real-time factor"));
  EXPECT_THAT(r.output, ::testing::HasSubstr("synaptic events/s"));
  ASSERT_TRUE(fs::exists(path("t.h5")));
  EXPECT_FALSE(fs::exists(path("t.h5.partial")));

  // The same network simulated in-process gives the spikes and samples the trace holds.
  Network network = build_network(load_network_file(path("net.json")));
  const auto expected = testing::run_steps(network, network.steps());
  const TraceReader trace(path("t.h5"));
  EXPECT_TRUE(trace.complete());
  EXPECT_EQ(trace.attribute_string("format"), "snnsim-trace");
  EXPECT_DOUBLE_EQ(trace.attribute_double("dt"), 1e-4);
  EXPECT_EQ(trace.attribute_uint("seed"), 4u);
  EXPECT_EQ(trace.attribute_string("network"), kSmallNetwork);
  for (std::size_t p = 0; p < 2; ++p) {
    const TraceSpikes spikes = trace.read_spikes(network.populations[p].name);
    ASSERT_EQ(spikes.steps.size(), expected.spikes[p].size());
    for (std::size_t k = 0; k < spikes.steps.size(); ++k) {
      ASSERT_EQ(std::make_pair(spikes.steps[k], spikes.indices[k]), expected.spikes[p][k]);
    }
  }
  EXPECT_GT(trace.read_spikes("N").steps.size(), 0u);
  const TraceState v = trace.read_state("N", "v");
  EXPECT_EQ(v.neurons, (std::vector<NeuronIndex>{0, 5}));
  EXPECT_EQ(v.interval_steps, 5u);
  ASSERT_EQ(v.samples, expected.samples[0].size());
  for (std::size_t s = 0; s < v.samples; ++s) {
    EXPECT_EQ(v.values[s * 2], expected.samples[0][s][0]);
    EXPECT_EQ(v.values[s * 2 + 1], expected.samples[0][s][1]);
  }
}

TEST_F(Cli, BadNetworkFailsWithOneLineAndNoOutputFile) {
  std::string text = kSmallNetwork;
  text.replace(text.find("\"80 pA\""), 7, "\"80 mV\"");
  write("bad.json", text);
  const CommandResult r = run_snnsim("run " + path("bad.json") + " -o " + path("t.h5"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_THAT(r.output, ::testing::HasSubstr("bad.json: /projections/0/weight:"));
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  const CommandResult v = run_snnsim("validate " + path("bad.json"));
  EXPECT_EQ(v.status, 1);
  EXPECT_THAT(v.output, ::testing::HasSubstr("/projections/0/weight"));
  EXPECT_FALSE(fs::exists(path("t.h5")));
  EXPECT_FALSE(fs::exists(path("t.h5.partial")));
  write("net.json", kSmallNetwork);
  EXPECT_EQ(run_snnsim("validate " + path("net.json")).status, 0);
  EXPECT_EQ(run_snnsim("run " + path("net.json") + " --duration 1 -q").status, 1);  // no unit
  EXPECT_EQ(run_snnsim("run " + path("net.json") + " -p X=3 -q").status, 1);
  EXPECT_EQ(run_snnsim("run " + path("missing.json")).status, 1);
}

TEST_F(Cli, BackendChoice) {
  write("net.json", kSmallNetwork);
  const std::string run = "run " + path("net.json") + " -o " + path("t.h5") + " --backend ";
  if (cuda_device_count() == 0) {
    // Without a GPU: one line naming the problem and the way out, no output file.
    const CommandResult cuda = run_snnsim(run + "cuda");
    EXPECT_EQ(cuda.status, 1) << cuda.output;
    EXPECT_THAT(cuda.output, ::testing::HasSubstr("use --backend cpu"));
    EXPECT_EQ(std::count(cuda.output.begin(), cuda.output.end(), '\n'), 1) << cuda.output;
    EXPECT_FALSE(fs::exists(path("t.h5")));
    EXPECT_FALSE(fs::exists(path("t.h5.partial")));
    const CommandResult automatic = run_snnsim(run + "auto");
    EXPECT_EQ(automatic.status, 0) << automatic.output;
    EXPECT_THAT(automatic.output, ::testing::HasSubstr("backend    cpu"));
  }
  const CommandResult unknown = run_snnsim(run + "tpu");
  EXPECT_EQ(unknown.status, 1);
  EXPECT_THAT(unknown.output, ::testing::HasSubstr("expected cpu, cuda or auto"));
}

TEST_F(Cli, UnwritableOutputFailsCleanly) {
  write("net.json", kSmallNetwork);
  const CommandResult r =
      run_snnsim("run " + path("net.json") + " -q -o " + path("no/such/dir/t.h5"));
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.output, ::testing::HasSubstr("t.h5"));
}

TEST_F(Cli, InterruptKeepsAReadableTraceMarkedIncomplete) {
  std::string text = kSmallNetwork;
  text.replace(text.find("\"100 ms\""), 8, "\"10000 s\"");  // far longer than the test waits
  write("long.json", text);
  const pid_t child = fork();
  if (child == 0) {
    freopen("/dev/null", "w", stdout);
    freopen("/dev/null", "w", stderr);
    execl(SNNSIM_BINARY, SNNSIM_BINARY, "run", path("long.json").c_str(), "-t", "1", "-o",
          path("t.h5").c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // The temporary file appears when the run starts (after the signal handlers are in place);
  // then let it run a little.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!fs::exists(path("t.h5.partial")) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!fs::exists(path("t.h5.partial"))) {
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    FAIL() << "the run did not start within 30 s";
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_FALSE(fs::exists(path("t.h5"))) << "the final name appears only at the end";
  kill(child, SIGINT);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  ASSERT_TRUE(fs::exists(path("t.h5")));
  const TraceReader trace(path("t.h5"));
  EXPECT_FALSE(trace.complete());
  const std::uint64_t steps = trace.attribute_uint("steps_completed");
  EXPECT_GT(steps, 0u);
  const TraceSpikes spikes = trace.read_spikes("P");
  EXPECT_GT(spikes.steps.size(), 0u);
  EXPECT_LT(spikes.steps.back(), steps);
}

}  // namespace
}  // namespace snnsim
