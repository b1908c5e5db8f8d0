// Connection rules: exact degrees where the rule fixes them, binomial statistics where it draws
// them, autapse and multapse exclusion, sorted rows, weights and delays from every value kind.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <filesystem>
#include <set>

#include "networks/builder.h"
#include "networks/network_file.h"
#include "tests/test_support.h"

namespace snnsim {
namespace {

/// A network with populations A (n_a neurons) and B (n_b) and one projection described by
/// `projection` (JSON object members after source and target).
Network build(const std::string& source, const std::string& target, const std::string& projection,
              int n_a = 300, int n_b = 200, const std::string& path = "conn.json") {
  const std::string text = R"({"format": "snnsim-network", "version": 1,
    "simulation": {"seed": 9},
    "populations": [
      {"name": "A", "model": "lif_psc_delta", "size": )" +
                           std::to_string(n_a) + R"(},
      {"name": "B", "model": "lif_psc_delta", "size": )" +
                           std::to_string(n_b) + R"(}],
    "projections": [{"source": ")" +
                           source + R"(", "target": ")" + target + R"(", )" + projection + "}]}";
  return build_network(parse_network(text, path));
}

std::vector<std::uint64_t> in_degrees(const Connectivity& c) {
  std::vector<std::uint64_t> degrees(c.target_size, 0);
  for (NeuronIndex t : c.targets)
    ++degrees[t];
  return degrees;
}

void expect_rows_sorted(const Connectivity& c) {
  for (NeuronIndex s = 0; s < c.source_size; ++s) {
    EXPECT_TRUE(std::is_sorted(c.targets.begin() + c.row_offsets[s],
                               c.targets.begin() + c.row_offsets[s + 1]))
        << "row " << s;
  }
}

TEST(ConnectionRules, FixedIndegreeGivesEveryTargetExactlyItsDegree) {
  const Network n = build(
      "A", "B", R"("connectivity": {"rule": "fixed_indegree", "indegree": 37}, "weight": "1 mV")");
  const Connectivity& c = n.projections[0].synapses;
  for (std::uint64_t d : in_degrees(c))
    ASSERT_EQ(d, 37u);
  expect_rows_sorted(c);
}

TEST(ConnectionRules, FixedOutdegreeWithoutMultapsesOrAutapses) {
  const Network n = build(
      "A", "A",
      R"("connectivity": {"rule": "fixed_outdegree", "outdegree": 150, "allow_autapses": false, "allow_multapses": false}, "weight": "1 mV")");
  const Connectivity& c = n.projections[0].synapses;
  for (NeuronIndex s = 0; s < c.source_size; ++s) {
    const std::set<NeuronIndex> row(c.targets.begin() + c.row_offsets[s],
                                    c.targets.begin() + c.row_offsets[s + 1]);
    ASSERT_EQ(c.row_offsets[s + 1] - c.row_offsets[s], 150u);
    ASSERT_EQ(row.size(), 150u) << "multapse in row " << s;
    ASSERT_EQ(row.count(s), 0u) << "autapse in row " << s;
  }
}

TEST(ConnectionRules, FixedProbabilityIsBinomial) {
  const double p = 0.1;
  const Network n = build(
      "A", "B", R"("connectivity": {"rule": "fixed_probability", "p": 0.1}, "weight": "1 mV")",
      2000, 1000);
  const Connectivity& c = n.projections[0].synapses;
  const double pairs = 2000.0 * 1000.0;
  EXPECT_NEAR(static_cast<double>(c.synapse_count()), pairs * p,
              5 * std::sqrt(pairs * p * (1 - p)));
  // Out-degrees: Binomial(1000, p): variance 90.
  double sum = 0, sum_squares = 0;
  for (NeuronIndex s = 0; s < 2000; ++s) {
    const double d = static_cast<double>(c.row_offsets[s + 1] - c.row_offsets[s]);
    sum += d;
    sum_squares += d * d;
  }
  const double mean = sum / 2000, variance = sum_squares / 2000 - mean * mean;
  EXPECT_NEAR(variance, 1000 * p * (1 - p), 0.15 * 1000 * p * (1 - p));
  // Targets uniform: each in-degree ~ Binomial(2000, p) with mean 200.
  const double expected_in = 2000 * p;
  double chi_square = 0;
  for (std::uint64_t d : in_degrees(c))
    chi_square += (d - expected_in) * (d - expected_in) / expected_in;
  EXPECT_LT(chi_square / 1000, 1.3);  // reduced chi-square of 1000 bins near 0.9
  expect_rows_sorted(c);
}

TEST(ConnectionRules, AllToAllAndOneToOne) {
  const Network all =
      build("A", "A",
            R"("connectivity": {"rule": "all_to_all", "allow_autapses": false}, "weight": "1 mV")",
            50, 10);
  EXPECT_EQ(all.projections[0].synapses.synapse_count(), 50u * 49u);
  const Network one =
      build("A", "B", R"("connectivity": {"rule": "one_to_one"}, "weight": "1 mV")", 40, 40);
  const Connectivity& c = one.projections[0].synapses;
  for (NeuronIndex s = 0; s < 40; ++s) {
    ASSERT_EQ(c.row_offsets[s + 1] - c.row_offsets[s], 1u);
    EXPECT_EQ(c.targets[c.row_offsets[s]], s);
  }
}

TEST(ConnectionRules, ExplicitListKeepsEachSynapsesWeightAndDelay) {
  const Network n = build(
      "A", "B",
      R"("connectivity": {"rule": "explicit", "sources": [2, 0, 2, 1], "targets": [5, 3, 1, 3]},
      "weight": {"values": [1, 2, 3, 4], "unit": "mV"}, "delay": {"values": [0.1, 0.2, 0.3, 0.4], "unit": "ms"})");
  const Connectivity& c = n.projections[0].synapses;
  EXPECT_EQ(std::vector<std::uint64_t>(c.row_offsets.begin(), c.row_offsets.begin() + 5),
            (std::vector<std::uint64_t>{0, 1, 2, 4, 4}));
  EXPECT_EQ(c.row_offsets.back(), 4u);
  EXPECT_EQ(c.targets, (std::vector<NeuronIndex>{3, 3, 1, 5}));
  EXPECT_EQ(c.weights, (std::vector<float>{2, 4, 3, 1}));
  EXPECT_EQ(c.delays, (std::vector<std::uint16_t>{2, 4, 3, 1}));
}

TEST(ConnectionRules, WeightAndDelayDistributions) {
  const Network n = build("A", "B", R"("connectivity": {"rule": "fixed_indegree", "indegree": 100},
      "weight": {"normal": {"mean": "0.5 mV", "std": "0.1 mV"}}, "delay": {"uniform": {"low": "1 ms", "high": "2 ms"}})");
  const Connectivity& c = n.projections[0].synapses;
  double sum = 0, sum_squares = 0;
  for (float w : c.weights) {
    sum += w;
    sum_squares += w * w;
  }
  const double count = static_cast<double>(c.weights.size());
  EXPECT_NEAR(sum / count, 0.5, 5 * 0.1 / std::sqrt(count));
  EXPECT_NEAR(std::sqrt(sum_squares / count - (sum / count) * (sum / count)), 0.1, 0.005);
  std::set<std::uint16_t> delays(c.delays.begin(), c.delays.end());
  EXPECT_EQ(*delays.begin(), 10u);
  EXPECT_EQ(*delays.rbegin(), 20u);
  EXPECT_EQ(delays.size(), 11u);  // every step from 10 to 20 occurs
}

TEST(ConnectionRules, HomogeneousProjectionsStoreNoPerSynapseValues) {
  const Network n = build(
      "A", "B",
      R"("connectivity": {"rule": "fixed_indegree", "indegree": 10}, "weight": "1 mV", "delay": "2 ms")");
  const Connectivity& c = n.projections[0].synapses;
  EXPECT_TRUE(c.weights.empty());
  EXPECT_TRUE(c.delays.empty());
  EXPECT_EQ(c.delay, 20u);
  EXPECT_EQ(c.bytes(), c.synapse_count() * 4 + (c.source_size + 1) * 8);
}

class ConnectionRulesFromFiles : public testing::TemporaryFolderTest {};

TEST_F(ConnectionRulesFromFiles, ReadSourcesTargetsAndWeightsFromHdf5) {
  const auto file = path("synapses.h5");
  {
    const hid_t f = H5Fcreate(file.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    auto write = [&](const char* name, hid_t type, const void* data) {
      const hsize_t size = 3;
      const hid_t space = H5Screate_simple(1, &size, nullptr);
      const hid_t d = H5Dcreate2(f, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
      H5Dclose(d);
      H5Sclose(space);
    };
    const std::int64_t sources[] = {4, 4, 0};
    const std::uint32_t targets[] = {7, 2, 9};
    const double weights[] = {0.5, 1.5, 2.5};
    write("src", H5T_NATIVE_INT64, sources);
    write("tgt", H5T_NATIVE_UINT32, targets);
    write("w", H5T_NATIVE_DOUBLE, weights);
    H5Fclose(f);
  }
  const Network n = build(
      "A", "B",
      R"("connectivity": {"rule": "file", "file": "synapses.h5", "sources": "src", "targets": "tgt"},
      "weight": {"file": "synapses.h5", "dataset": "w", "unit": "V"})",
      10, 10, path("net.json").string());
  const Connectivity& c = n.projections[0].synapses;
  EXPECT_EQ(c.targets, (std::vector<NeuronIndex>{9, 2, 7}));
  EXPECT_EQ(c.weights, (std::vector<float>{2500, 1500, 500}));  // V -> mV
  EXPECT_THROW(
      build(
          "A", "B",
          R"("connectivity": {"rule": "file", "file": "synapses.h5", "sources": "nope", "targets": "tgt"}, "weight": "1 mV")",
          10, 10, path("net.json").string()),
      NetworkFileError);
}

}  // namespace
}  // namespace snnsim
