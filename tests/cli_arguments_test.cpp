// The command line as an attacker or a hurried user writes it: numeric options out of range,
// options that do not apply, outputs named like inputs, and Ctrl-C while the network is built.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <omp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "networks/hdf5_dataset.h"
#include "tests/test_support.h"

namespace snnsim {
namespace {

namespace fs = std::filesystem;

using testing::CommandResult;
using ::testing::HasSubstr;
using testing::run_snnsim;

class CliArguments : public testing::CommandLineTest {
 protected:
  std::string read(const std::string& name) const {
    std::ifstream in(path(name), std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  /// A network file P -> N; `initial` sets N's initial state ("" for none).
  void write_network(const std::string& name, const std::string& initial = "") const {
    write(name, R"({
  "format": "snnsim-network", "version": 1,
  "simulation": {"dt": "0.1 ms", "duration": "20 ms", "seed": 4},
  "populations": [
    {"name": "P", "model": "poisson_generator", "size": 20, "parameters": {"rate": "40 Hz"}},
    {"name": "N", "model": "lif_psc_exp", "size": 20)" +
                    (initial.empty() ? "" : ", \"initial\": " + initial) + R"(}
  ],
  "projections": [{"source": "P", "target": "N", "receptor": "ex",
                   "connectivity": {"rule": "all_to_all"}, "weight": "80 pA"}]
})");
  }
  /// Expects a usage error (exit 2) whose one line contains `message`.
  static void expect_usage_error(const std::string& arguments, const std::string& message) {
    const CommandResult r = run_snnsim(arguments);
    EXPECT_EQ(r.status, 2) << arguments << "\n" << r.output;
    EXPECT_THAT(r.output, HasSubstr(message)) << arguments;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << arguments << r.output;
  }
};

TEST_F(CliArguments, NumbersOutOfRangeAreRefusedNotWrappedOrClamped) {
  write_network("net.json");
  const std::string run = "run " + path("net.json") + " -q ";
  // Boost alone reads "-5" as 18446744073709551611 for an unsigned option.
  expect_usage_error(run + "--seed -5", "--seed -5: expected a whole number from 0 to");
  expect_usage_error(run + "--seed 18446744073709551616", "--seed 18446744073709551616");
  expect_usage_error(run + "--seed 1.5", "--seed 1.5");
  const std::string processors = std::to_string(omp_get_num_procs());
  for (const char* threads : {"0", "-3", "1000", "two"}) {
    expect_usage_error(run + "--threads " + threads,
                       std::string("--threads ") + threads +
                           ": expected a whole number from 1 to " + processors +
                           " (the processors available to snnsim here)");
  }
  EXPECT_EQ(run_snnsim(run + "--threads 1 --seed 18446744073709551615").status, 0);

  const std::string infer = "infer " + std::string(SNNSIM_SOURCE_DIR) +
                            "/examples/linear-snn.json --input " + SNNSIM_SOURCE_DIR +
                            "/examples/data/linear-snn-input.npy -q ";
  expect_usage_error(infer + "--batch 0", "--batch 0: expected a whole number from 1");
  expect_usage_error(infer + "--batch -1", "--batch -1");
  expect_usage_error(infer + "-T 0", "--timesteps 0");
  expect_usage_error(infer + "--top-k 0", "--top-k 0");
  expect_usage_error(infer + "--energy-mac-pj -1", "--energy-mac-pj -1: expected a number from 0");
  expect_usage_error(infer + "--energy-ac-pj nan", "--energy-ac-pj nan");
}

TEST_F(CliArguments, TraceOptionsOutOfRangeOrNotApplyingAreRefused) {
  write_network("net.json");
  ASSERT_EQ(run_snnsim("run " + path("net.json") + " -q -o " + path("t.h5")).status, 0);
  const std::string trace = path("t.h5") + " -o " + path("p.png") + " ";
  // Plot options that do not apply to a kind of plot are unknown to it, not silently ignored.
  expect_usage_error("trace raster " + trace + "--variable nonsense", "--variable");
  expect_usage_error("trace raster " + trace + "--bin 5ms", "--bin");
  expect_usage_error("trace rate " + trace + "--neuron 3", "--neuron");
  expect_usage_error("trace state " + trace + "--bin 5ms", "--bin");
  expect_usage_error("trace state " + trace + "--neuron -1", "--neuron -1");
  expect_usage_error("trace rate " + trace + "--width 0", "--width 0: expected a whole number");
  expect_usage_error("trace rate " + trace + "--height 100000", "--height 100000");
  expect_usage_error("trace compare " + path("t.h5") + " " + path("t.h5") + " --tolerance -0.1",
                     "--tolerance -0.1");
  expect_usage_error("trace compare " + path("t.h5") + " " + path("t.h5") + " --ks-threshold 2",
                     "--ks-threshold 2: expected a number from 0 to 1");
  EXPECT_FALSE(fs::exists(path("p.png")));
  EXPECT_EQ(run_snnsim("trace rate " + trace + "--bin 5ms --width 400").status, 0);
}

TEST_F(CliArguments, AnOutputNamedLikeAnInputIsRefusedBeforeAnyWork) {
  // A population network whose initial state comes from an HDF5 dataset next to it.
  write_hdf5_arrays(path("v.h5"), {{"v", Hdf5Array{{20}, std::vector<double>(20, -60.0)}}});
  write_network("net.json", R"({"v": {"file": "v.h5", "dataset": "v", "unit": "mV"}})");
  const std::string initial = read("v.h5");
  for (const std::string& output : {path("v.h5"), path("net.json"), path("./net.json")}) {
    const CommandResult r = run_snnsim("run " + path("net.json") + " -q -o " + output);
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_THAT(r.output, HasSubstr("which this command reads; choose another name"));
  }
  const CommandResult summary =
      run_snnsim("run " + path("net.json") + " -q --summary-json " + path("v.h5"));
  EXPECT_THAT(summary.output, HasSubstr("--summary-json " + path("v.h5") +
                                        " would replace a dataset file of " + path("net.json")));
  EXPECT_EQ(read("v.h5"), initial) << "the dataset file is untouched";

  // A layer graph's weights, the input samples, and a NIR file imported over itself.
  const std::string examples = std::string(SNNSIM_SOURCE_DIR) + "/examples/";
  fs::copy(examples + "linear-snn.json", path("linear.json"));
  fs::create_directory(path("data"));
  fs::copy(examples + "data/linear-snn.safetensors", path("data/linear-snn.safetensors"));
  fs::copy(examples + "data/linear-snn-input.npy", path("input.npy"));
  const std::string infer =
      "infer " + path("linear.json") + " --input " + path("input.npy") + " -q -o ";
  const CommandResult over_weights = run_snnsim(infer + path("data/linear-snn.safetensors"));
  EXPECT_EQ(over_weights.status, 1);
  EXPECT_THAT(over_weights.output, HasSubstr("would replace the weights of"));
  EXPECT_THAT(run_snnsim(infer + path("input.npy")).output,
              HasSubstr("would replace the input samples"));
  // Importing a NIR file named like the weights the import writes (x.json's tensors: x.h5).
  fs::copy(std::string(SNNSIM_SOURCE_DIR) + "/tests/fixtures/nir/affine.nir", path("x.h5"));
  const CommandResult over_nir =
      run_snnsim("import nir " + path("x.h5") + " --dt 1ms -o " + path("x.json"));
  EXPECT_EQ(over_nir.status, 1);
  EXPECT_THAT(over_nir.output, HasSubstr("would replace the NIR file"));
  EXPECT_FALSE(fs::exists(path("x.json")));
}

TEST_F(CliArguments, CtrlCWhileBuildingStopsBeforeSimulating) {
  // Fixed in-degree without multapses, as many sources as the degree: drawing each row's
  // distinct sources takes about n ln n draws, so this 5000 x 5000 build runs for many seconds
  // (with 100 MB of synapses) unless it is stopped.
  write("big.json", R"({
  "format": "snnsim-network", "version": 1,
  "simulation": {"dt": "0.1 ms", "duration": "1 s", "seed": 4},
  "populations": [{"name": "N", "model": "lif_psc_exp", "size": 5000}],
  "projections": [{"source": "N", "target": "N", "receptor": "ex", "weight": "1 pA",
                   "connectivity": {"rule": "fixed_indegree", "indegree": 4999,
                                    "allow_autapses": false, "allow_multapses": false}}]
})");
  int pipe_ends[2];
  ASSERT_EQ(pipe(pipe_ends), 0);
  const pid_t child = fork();
  if (child == 0) {
    dup2(pipe_ends[1], STDERR_FILENO);
    freopen("/dev/null", "w", stdout);
    execl(SNNSIM_BINARY, SNNSIM_BINARY, "run", path("big.json").c_str(), "-t", "1", "-o",
          path("t.h5").c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(pipe_ends[1]);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  const auto interrupted = std::chrono::steady_clock::now();
  kill(child, SIGINT);
  int status = 0;
  waitpid(child, &status, 0);
  const double stop_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - interrupted).count();
  std::string message(4096, '\0');
  message.resize(std::max<ssize_t>(0, ::read(pipe_ends[0], message.data(), message.size())));
  close(pipe_ends[0]);
  ASSERT_TRUE(WIFEXITED(status)) << message;
  EXPECT_EQ(WEXITSTATUS(status), 130) << message;
  EXPECT_THAT(message, HasSubstr("interrupted while building the network; nothing was simulated "
                                 "and no trace written"));
  EXPECT_LT(stop_s, 2.0) << "a stop is seen within a row, not at the end of the build";
  EXPECT_FALSE(fs::exists(path("t.h5")));
  EXPECT_FALSE(fs::exists(path("t.h5.partial")));
}

}  // namespace
}  // namespace snnsim
