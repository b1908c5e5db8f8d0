// The engine as a whole: random streams, Poisson statistics, reproducibility across thread
// counts, stable random identities, and the COBA benchmark's firing rate.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "networks/builder.h"
#include "networks/network_file.h"
#include "sim/random.h"
#include "sim/simulation.h"
#include "tests/test_support.h"

namespace snnsim {
namespace {

using testing::run_steps;

TEST(Philox, MatchesTheRandom123KnownAnswers) {
  // Known-answer vectors of Philox4x32-10 from Random123's kat_vectors.
  auto check = [](PhiloxBlock counter, std::uint32_t k0, std::uint32_t k1, PhiloxBlock expected) {
    const PhiloxBlock out = philox4x32_10(counter, k0, k1);
    for (int i = 0; i < 4; ++i)
      EXPECT_EQ(out.v[i], expected.v[i]) << "word " << i;
  };
  check({{0, 0, 0, 0}}, 0, 0, {{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}});
  check({{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}}, 0xffffffff, 0xffffffff,
        {{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}});
  check({{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}}, 0xa4093822, 0x299f31d0,
        {{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}});
}

TEST(RandomSequence, PoissonCountsHaveTheirMeanAndVariance) {
  const RandomStream stream = RandomStream::make(7, "test");
  for (double mean : {0.3, 2.0, 20.0, 250.0}) {
    const int n = 100000;
    double sum = 0, sum_squares = 0;
    for (int i = 0; i < n; ++i) {
      RandomSequence draws(stream, i);
      const double k = draws.poisson(mean);
      sum += k;
      sum_squares += k * k;
    }
    const double m = sum / n, variance = sum_squares / n - m * m;
    // Standard error of the mean: sqrt(mean / n); 5 of them.
    EXPECT_NEAR(m, mean, 5 * std::sqrt(mean / n)) << "mean " << mean;
    EXPECT_NEAR(variance / mean, 1.0, 0.03) << "mean " << mean;
  }
}

TEST(PoissonGenerator, RateAndIrregularityWithinStatisticalBounds) {
  Network network;
  network.seed = 3;
  testing::add_population(network, "p", "poisson_generator", 1000, {{"rate", 50}});
  const Step steps = 20000;  // 2 s
  const auto recording = run_steps(network, steps, 2);
  const double expected = 50.0 * 2.0 * 1000;
  EXPECT_NEAR(static_cast<double>(recording.spikes[0].size()), expected, 5 * std::sqrt(expected));
  // CV of ISI of a Bernoulli process with p = rate * dt: sqrt(1 - p) = 0.9975.
  std::vector<std::vector<Step>> trains(1000);
  for (const auto& [step, i] : recording.spikes[0])
    trains[i].push_back(step);
  double cv_sum = 0;
  for (const auto& train : trains) {
    std::vector<double> isi;
    for (std::size_t k = 1; k < train.size(); ++k)
      isi.push_back(static_cast<double>(train[k] - train[k - 1]));
    const double mean = std::accumulate(isi.begin(), isi.end(), 0.0) / isi.size();
    double var = 0;
    for (double x : isi)
      var += (x - mean) * (x - mean);
    cv_sum += std::sqrt(var / isi.size()) / mean;
  }
  EXPECT_NEAR(cv_sum / 1000, 1.0, 0.03);
}

/// Runs a Poisson drive of `rate_khz` into non-leaky integrators with weight 1 for `steps`
/// steps: each neuron's v then counts its events, Poisson with mean steps * rate * dt. Checks the
/// mean (5 standard errors) and the Fano factor.
void expect_poisson_counts(double rate_khz, Step steps) {
  const std::string text = R"({
    "format": "snnsim-network", "version": 1,
    "simulation": {"dt": "0.1 ms", "seed": 5},
    "populations": [{"name": "n", "model": "if_psc_delta", "size": 2000,
                     "parameters": {"V_th": "1e9 mV", "V_reset": "0 mV"}}],
    "inputs": [{"type": "poisson", "target": "n", "rate": ")" +
                           std::to_string(rate_khz) + R"( kHz", "weight": "1 mV"}],
    "recording": {"state": [{"population": "n", "variables": ["v"], "neurons": "all"}]}
  })";
  Network network = build_network(parse_network(text, "drive.json"));
  network.probes[0].interval_steps = steps - 1;  // sample after the last step
  const auto recording = run_steps(network, steps, 2);
  const auto& v = recording.samples[0].back();
  const double mean = steps * rate_khz * 0.1;
  double sum = 0, sum_squares = 0;
  for (float x : v) {
    sum += x;
    sum_squares += x * x;
  }
  const double m = sum / v.size(), variance = sum_squares / v.size() - m * m;
  EXPECT_NEAR(m, mean, 5 * std::sqrt(mean / v.size())) << rate_khz << " kHz";
  EXPECT_NEAR(variance / m, 1.0, 0.15) << rate_khz << " kHz";  // standard error ~0.03
}

TEST(PoissonDrive, CountsPerNeuronArePoissonAtLowRates) {
  expect_poisson_counts(3, 1000);  // 0.3 per step: the inversion table
}

TEST(PoissonDrive, CountsPerNeuronArePoissonAtHighRates) {
  expect_poisson_counts(1500, 20);  // 150 per step: beyond the table's range
}

/// A 1250-neuron Brunel network (NEST's mini-Brunel reproducibility test size).
std::string mini_brunel(const std::string& extra_population = "") {
  return R"({
    "format": "snnsim-network", "version": 1,
    "parameters": {"NE": 1000, "NI": 250},
    "simulation": {"dt": "0.1 ms", "duration": "200 ms", "seed": 11},
    "populations": [
      {"name": "E", "model": "lif_psc_delta", "size": "NE",
       "parameters": {"C_m": "1 pF", "tau_m": "20 ms", "E_L": "0 mV", "V_reset": "10 mV", "V_th": "20 mV"},
       "initial": {"v": {"uniform": {"low": "0 mV", "high": "20 mV"}}}},
      {"name": "I", "model": "lif_psc_delta", "size": "NI",
       "parameters": {"C_m": "1 pF", "tau_m": "20 ms", "E_L": "0 mV", "V_reset": "10 mV", "V_th": "20 mV"},
       "initial": {"v": {"uniform": {"low": "0 mV", "high": "20 mV"}}}})" +
         extra_population + R"(
    ],
    "projections": [
      {"source": "E", "target": "E", "connectivity": {"rule": "fixed_indegree", "indegree": 100}, "weight": {"normal": {"mean": "0.2 mV", "std": "0.05 mV"}}, "delay": {"uniform": {"low": "0.5 ms", "high": "3 ms"}}},
      {"source": "E", "target": "I", "connectivity": {"rule": "fixed_probability", "p": 0.1}, "weight": "0.2 mV", "delay": "1.5 ms"},
      {"source": "I", "target": "E", "connectivity": {"rule": "fixed_outdegree", "outdegree": 100}, "weight": "-1 mV", "delay": "1.5 ms"},
      {"source": "I", "target": "I", "connectivity": {"rule": "fixed_indegree", "indegree": 25}, "weight": "-1 mV", "delay": "1.5 ms"}
    ],
    "inputs": [
      {"type": "poisson", "name": "drive-E", "target": "E", "rate": "20 kHz", "weight": "0.1 mV"},
      {"type": "poisson", "name": "drive-I", "target": "I", "rate": "20 kHz", "weight": "0.1 mV"}
    ]
  })";
}

TEST(Reproducibility, SpikesAreBitIdenticalWhateverTheThreadCount) {
  const NetworkSpec spec = parse_network(mini_brunel(), "mini-brunel.json");
  std::vector<std::vector<std::pair<Step, NeuronIndex>>> reference;
  for (int threads : {1, 2, 3, 4}) {
    Network network = build_network(spec);
    const auto recording = run_steps(network, network.steps(), threads);
    if (threads == 1) {
      reference = recording.spikes;
      ASSERT_GT(reference[0].size(), 1000u)
          << "the network must be active for this test to mean anything";
      continue;
    }
    EXPECT_EQ(recording.spikes, reference) << threads << " threads";
  }
}

TEST(Reproducibility, AnotherSeedGivesOtherSpikes) {
  Network a = build_network(parse_network(mini_brunel(), "a.json"));
  LoadOptions options;
  options.seed = 12;
  Network b = build_network(parse_network(mini_brunel(), "b.json", options));
  EXPECT_NE(run_steps(a, 500).spikes, run_steps(b, 500).spikes);
}

TEST(Reproducibility, AddingAPopulationLeavesTheOthersRandomNumbersUnchanged) {
  const std::string extra = R"(,
      {"name": "X", "model": "poisson_generator", "size": 77, "parameters": {"rate": "5 Hz"}})";
  Network a = build_network(parse_network(mini_brunel(), "a.json"));
  Network b = build_network(parse_network(mini_brunel(extra), "b.json"));
  for (std::size_t p = 0; p < 2; ++p) {
    const auto va = a.populations[p].dynamics->state(0), vb = b.populations[p].dynamics->state(0);
    EXPECT_TRUE(std::equal(va.begin(), va.end(), vb.begin(), vb.end()))
        << "initial v of " << a.populations[p].name;
  }
  for (std::size_t j = 0; j < a.projections.size(); ++j) {
    const Connectivity &ca = a.projections[j].synapses, &cb = b.projections[j].synapses;
    EXPECT_EQ(ca.targets, cb.targets) << a.projections[j].name;
    EXPECT_EQ(ca.weights, cb.weights) << a.projections[j].name;
    EXPECT_EQ(ca.delays, cb.delays) << a.projections[j].name;
  }
  const auto ra = run_steps(a, 1000), rb = run_steps(b, 1000);
  EXPECT_EQ(ra.spikes[0], rb.spikes[0]);
  EXPECT_EQ(ra.spikes[1], rb.spikes[1]);
}

TEST(Coba, SettlesNearTwentyHertz) {
  // Brette et al. 2007 report ~20 Hz for this benchmark; we accept 15-25 Hz.
  Network network = build_network(load_network_file(SNNSIM_SOURCE_DIR "/examples/coba.json"));
  network.probes.clear();
  RunOptions options;
  const RunSummary summary = run_network(network, options);
  const double rate = static_cast<double>(summary.spikes()) / network.neuron_count() / 1.0;
  EXPECT_GT(rate, 15.0);
  EXPECT_LT(rate, 25.0);
  EXPECT_EQ(summary.steps_completed, 10000u);
  // Synaptic events are the out-degrees of the spikes: about 80 per spike.
  EXPECT_NEAR(static_cast<double>(summary.counters.synaptic_events) / summary.spikes(), 80.0, 4.0);
}

}  // namespace
}  // namespace snnsim
