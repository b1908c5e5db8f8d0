// snnsim trace compare: the Kolmogorov–Smirnov statistic on hand-computed cases, and the command
// on runs of the COBA example (same seed, other seed, changed network) and of a layer graph.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "analysis/trace_compare.h"
#include "tests/test_support.h"

namespace snnsim {
namespace {

using analysis::ks_distance;
using analysis::ks_p_value;
using analysis::ks_test;

TEST(KolmogorovSmirnov, IdenticalSamplesAreAtDistanceZero) {
  const std::vector<double> a{0.5, 1, 1, 2, 7};
  EXPECT_EQ(ks_distance(a, a), 0.0);
  EXPECT_EQ(ks_test(a, a).p_value, 1.0);
}

TEST(KolmogorovSmirnov, DisjointSamplesAreAtDistanceOne) {
  EXPECT_EQ(ks_test({1, 2, 3}, {4, 5}).distance, 1.0);
  EXPECT_EQ(ks_test({4, 5}, {1, 2, 3}).distance, 1.0);
}

TEST(KolmogorovSmirnov, HandComputedCases) {
  // F_a and F_b at 1..6: (.25,.5,.75,1,1,1) and (0,0,.25,.5,.75,1): largest gap 0.5 at 2, 3, 4.
  EXPECT_DOUBLE_EQ(ks_test({1, 2, 3, 4}, {3, 4, 5, 6}).distance, 0.5);
  // Ties across the samples: at 1, 2/3 vs 1/3; at 2 both reach 1. A comparison between the
  // tied values would wrongly see 2/3.
  EXPECT_DOUBLE_EQ(ks_test({1, 1, 2}, {1, 2, 2}).distance, 1.0 / 3.0);
  // Unsorted input is sorted. At 1: F_a = 0, F_b = 1/3; at 2: 1 and 2/3; at 3: both 1.
  EXPECT_DOUBLE_EQ(ks_test({2}, {3, 2, 1}).distance, 1.0 / 3.0);
  // Empty samples.
  EXPECT_EQ(ks_distance({}, {}), 0.0);
  const std::vector<double> one{1.0};
  EXPECT_EQ(ks_distance(one, {}), 1.0);
}

TEST(KolmogorovSmirnov, AsymptoticPValue) {
  // n_e = 10,000: λ = (100 + 0.12 + 0.0011)·D. At λ = 1.36, Q_KS is the textbook 5 % point.
  const double d = 1.36 / (100.0 + 0.12 + 0.11 / 100.0);
  EXPECT_NEAR(ks_p_value(d, 20000, 20000), 0.0495, 5e-4);
  EXPECT_NEAR(ks_p_value(1.63 / 100.1211, 20000, 20000), 0.0098, 3e-4);  // the 1 % point
  EXPECT_EQ(ks_p_value(0.0, 100, 100), 1.0);
  EXPECT_LT(ks_p_value(1.0, 100, 100), 1e-30);
  EXPECT_EQ(ks_p_value(0.5, 0, 100), 1.0);
  // Larger distances are less likely.
  EXPECT_GT(ks_p_value(0.1, 200, 200), ks_p_value(0.2, 200, 200));
}

TEST(RelativeDifference, IsSymmetricAndZeroForZeros) {
  EXPECT_DOUBLE_EQ(analysis::relative_difference(10, 8), 0.2);
  EXPECT_DOUBLE_EQ(analysis::relative_difference(8, 10), 0.2);
  EXPECT_EQ(analysis::relative_difference(0, 0), 0.0);
  EXPECT_EQ(analysis::relative_difference(0, 3), 1.0);
}

// --- the command ------------------------------------------------------------------------------

using testing::CommandResult;
using testing::run_snnsim;

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::size_t lines(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

/// COBA runs of 200 ms, made once for every test here (about 0.1 s each).
class TraceCompare : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    folder_ = std::filesystem::temp_directory_path() /
              ("snnsim-trace-compare-" + std::to_string(::getpid()));
    std::filesystem::create_directories(folder_);
    const std::string coba = std::string(SNNSIM_SOURCE_DIR) + "/examples/coba.json";
    run_coba(coba, "--seed 1", "seed1.h5");
    run_coba(coba, "--seed 1", "seed1-again.h5");
    run_coba(coba, "--seed 2", "seed2.h5");
    // Weaker inhibition (30 instead of 67 nS): the network falls into slow synchronous bursts.
    std::string network = read_text(coba);
    network = std::regex_replace(network, std::regex("\"67 nS\""), "\"30 nS\"");
    std::ofstream(path("weak-inhibition.json")) << network;
    run_coba(path("weak-inhibition.json"), "--seed 1", "weak-inhibition.h5");
    // The inhibitory population renamed: I only in A, Inh only in B.
    network = std::regex_replace(read_text(coba), std::regex("\"I\""), "\"Inh\"");
    std::ofstream(path("renamed.json")) << network;
    run_coba(path("renamed.json"), "--seed 1", "renamed.h5");
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(folder_); }
  static std::string path(const std::string& name) { return (folder_ / name).string(); }
  static void run_coba(const std::string& network, const std::string& options,
                       const std::string& trace) {
    const CommandResult r = run_snnsim("run " + network + " --duration 200ms -q -t 1 " + options +
                                       " -o " + path(trace));
    ASSERT_EQ(r.status, 0) << r.output;
  }
  static CommandResult compare(const std::string& a, const std::string& b,
                               const std::string& options = "") {
    return run_snnsim("trace compare " + path(a) + " " + path(b) + " " + options);
  }

  static std::filesystem::path folder_;
};
std::filesystem::path TraceCompare::folder_;

TEST_F(TraceCompare, SameSeedIsIdenticalSpikeForSpike) {
  const CommandResult r = compare("seed1.h5", "seed1-again.h5", "--exact");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("identical"), std::string::npos) << r.output;
  EXPECT_EQ(compare("seed1.h5", "seed1-again.h5").status, 0);
}

TEST_F(TraceCompare, OtherSeedIsAlikeButNotIdentical) {
  // Seed to seed, COBA's mean E rate over 200 ms varies by up to about 13 %: tolerance 25 %.
  const CommandResult alike = compare("seed1.h5", "seed2.h5", "--tolerance 0.25");
  EXPECT_EQ(alike.status, 0) << alike.output;
  const CommandResult exact = compare("seed1.h5", "seed2.h5", "--exact");
  EXPECT_EQ(exact.status, 1) << exact.output;
  EXPECT_NE(exact.output.find("E: spike counts differ"), std::string::npos) << exact.output;
}

TEST_F(TraceCompare, ChangedNetworkDiffers) {
  const CommandResult r = compare("seed1.h5", "weak-inhibition.h5", "--tolerance 0.25");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("E: mean rate differs"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("cv distributions differ: KS distance"), std::string::npos) << r.output;
}

TEST_F(TraceCompare, JsonReportsEveryMeasure) {
  const CommandResult r = run_snnsim("trace compare " + path("seed1.h5") + " " + path("seed2.h5") +
                                     " --tolerance 0.25 --json 2>/dev/null");
  ASSERT_EQ(r.status, 0) << r.output;
  const nlohmann::json j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["mode"], "statistical");
  EXPECT_TRUE(j["alike"].get<bool>());
  ASSERT_EQ(j["populations"].size(), 2u);
  const nlohmann::json& e = j["populations"][0];
  EXPECT_EQ(e["name"], "E");
  EXPECT_EQ(e["size_a"], 3200);
  ASSERT_EQ(e["measures"].size(), 3u);
  for (const nlohmann::json& m : e["measures"]) {
    EXPECT_GE(m["ks_distance"].get<double>(), 0.0);
    EXPECT_LT(m["ks_distance"].get<double>(), 0.2) << m.dump();
  }
  EXPECT_EQ(e["measures"][2]["name"], "correlation");
  // Pairs of the 100 sampled neurons whose counts vary over the 40 bins of 5 ms.
  EXPECT_GT(e["measures"][2]["count_a"].get<int>(), 500);
  EXPECT_LE(e["measures"][2]["count_a"].get<int>(), 4950);
}

TEST_F(TraceCompare, PopulationInOneTraceOnlyFails) {
  const CommandResult r = compare("seed1.h5", "renamed.h5");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("I: only in A"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Inh: only in B"), std::string::npos) << r.output;
  // Restricted to the population both have, they are alike (not identical: random streams are
  // keyed by population name, so the renamed network's connections differ).
  EXPECT_EQ(compare("seed1.h5", "renamed.h5", "-P E --tolerance 0.25").status, 0);
}

TEST_F(TraceCompare, WindowsAndSelections) {
  EXPECT_EQ(compare("seed1.h5", "seed1-again.h5", "--exact --from 50ms --to 150ms -P I").status, 0);
  const CommandResult r = compare("seed1.h5", "seed2.h5", "--exact --to 0.1ms");
  EXPECT_EQ(r.status, 1) << r.output;
}

TEST_F(TraceCompare, LayerGraphTraces) {
  const std::string source = SNNSIM_SOURCE_DIR;
  const std::string infer = "infer " + source + "/examples/conv-snn.json --input " + source +
                            "/examples/data/conv-snn-input.npy -q -t 1 ";
  ASSERT_EQ(run_snnsim(infer + "-o " + path("conv-a.h5")).status, 0);
  ASSERT_EQ(run_snnsim(infer + "-o " + path("conv-b.h5")).status, 0);
  ASSERT_EQ(run_snnsim(infer + "--batch 8 -o " + path("conv-batch8.h5")).status, 0);
  const CommandResult same = compare("conv-a.h5", "conv-b.h5", "--exact");
  EXPECT_EQ(same.status, 0) << same.output;
  EXPECT_NE(same.output.find("if1"), std::string::npos) << same.output;
  // Another batch size gives the same spikes, interleaved differently across samples: alike in
  // their statistics, but not equal in file order.
  EXPECT_EQ(compare("conv-a.h5", "conv-batch8.h5").status, 0);
  const CommandResult order = compare("conv-a.h5", "conv-batch8.h5", "--exact");
  EXPECT_EQ(order.status, 1) << order.output;
  EXPECT_NE(order.output.find("--batch"), std::string::npos) << order.output;
  // A layer graph against a population trace.
  const CommandResult kinds = compare("conv-a.h5", "seed1.h5");
  EXPECT_EQ(kinds.status, 1) << kinds.output;
  EXPECT_NE(kinds.output.find("layer_graph trace, B a population trace"), std::string::npos);
}

TEST_F(TraceCompare, BadInputIsOneLineAndStatusTwo) {
  // Not HDF5, a truncated trace, a missing file, and bad command lines.
  std::ofstream(path("text.h5")) << "not a trace\n";
  const std::string whole = read_text(path("seed1.h5"));
  std::ofstream(path("truncated.h5"), std::ios::binary) << whole.substr(0, whole.size() / 2);
  for (const std::string& arguments :
       {path("seed1.h5") + " " + path("text.h5"), path("truncated.h5") + " " + path("seed1.h5"),
        path("seed1.h5") + " " + path("missing.h5"), path("seed1.h5"),
        path("seed1.h5") + " " + path("seed2.h5") + " --tolerance -1",
        path("seed1.h5") + " " + path("seed2.h5") + " --ks-threshold 2",
        path("seed1.h5") + " " + path("seed2.h5") + " -P X",
        path("seed1.h5") + " " + path("seed2.h5") + " --from 1s"}) {
    const CommandResult r = run_snnsim("trace compare " + arguments);
    EXPECT_EQ(r.status, 2) << arguments << "\n" << r.output;
    EXPECT_EQ(lines(r.output), 1u) << r.output;
    EXPECT_EQ(r.output.rfind("snnsim trace compare: ", 0), 0u) << r.output;
  }
  const CommandResult truncated =
      run_snnsim("trace compare " + path("truncated.h5") + " " + path("seed1.h5"));
  EXPECT_NE(truncated.output.find("truncated.h5"), std::string::npos) << truncated.output;
}

TEST_F(TraceCompare, HelpDescribesTheExitStatus) {
  const CommandResult r = run_snnsim("trace compare --help");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.output.find("Exit status: 0 alike, 1 different"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--ks-threshold"), std::string::npos);
}

}  // namespace
}  // namespace snnsim
