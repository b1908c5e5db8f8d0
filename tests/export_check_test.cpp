// `snnsim export check`: networks built to violate one constraint of a target each, one that fits,
// and the command's output and exit status.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "export/hardware_targets.h"
#include "networks/network_file.h"
#include "tests/test_support.h"

namespace snnsim {
namespace {

using hardware::Target;

/// A network of one population `model` of `size` neurons fed by a projection from a Poisson
/// generator population of `sources` neurons with `connectivity` and `weight`.
std::string network(const std::string& model, int size, int sources,
                    const std::string& connectivity, const std::string& weight,
                    const std::string& receptor = "ex") {
  return R"({"format": "snnsim-network", "version": 1,
    "populations": [
      {"name": "src", "model": "poisson_generator", "size": )" +
         std::to_string(sources) + R"(},
      {"name": "n", "model": ")" +
         model + R"(", "size": )" + std::to_string(size) + R"(}],
    "projections": [{"source": "src", "target": "n", "receptor": ")" +
         receptor + R"(", "connectivity": )" + connectivity + R"(, "weight": )" + weight + "}]}";
}

std::vector<hardware::Violation> check(const std::string& text, Target target) {
  return hardware::check_constraints(parse_network(text, "net.json"), target);
}

/// The constraints named in `violations`.
std::vector<std::string> constraints(const std::vector<hardware::Violation>& violations) {
  std::vector<std::string> names;
  for (const hardware::Violation& v : violations)
    names.push_back(v.constraint);
  return names;
}

bool has(const std::vector<hardware::Violation>& violations, const std::string& constraint) {
  for (const hardware::Violation& v : violations)
    if (v.constraint.find(constraint) != std::string::npos) return true;
  return false;
}

const std::string kOneToOne = R"({"rule": "one_to_one"})";

TEST(ExportCheck, SmallCurrentNetworkFitsBothTargets) {
  const std::string text = network("lif_psc_exp", 10, 10, kOneToOne, R"("100 pA")");
  EXPECT_TRUE(check(text, Target::loihi2).empty());
  EXPECT_TRUE(check(text, Target::xylo).empty());
}

TEST(ExportCheck, Loihi2LifInFloatArithmeticIsNotDeployable) {
  std::string text = network("loihi2_lif", 10, 10, kOneToOne, "64");
  EXPECT_TRUE(check(text, Target::loihi2).empty());
  text.replace(text.rfind(R"("size": 10})"), 11,
               R"("size": 10, "parameters": {"arithmetic": "float"}})");
  EXPECT_EQ(constraints(check(text, Target::loihi2)), std::vector<std::string>{"arithmetic"});
}

TEST(ExportCheck, Loihi2FanIn) {
  // 5000 sources to every neuron: above the 4096 input axons of a core.
  const auto v = check(network("lif_psc_exp", 10, 5000, R"({"rule": "all_to_all"})", R"("1 pA")"),
                       Target::loihi2);
  ASSERT_TRUE(has(v, "fan-in")) << ::testing::PrintToString(constraints(v));
  EXPECT_EQ(v[0].value, "5000");
  EXPECT_EQ(v[0].limit, "4096");
}

TEST(ExportCheck, Loihi2CoresForNeurons) {
  // 129 cores of 8192 neurons: one more than a chip has.
  const auto v =
      check(network("lif_psc_delta", 8192 * 129, 8192 * 129, kOneToOne, R"("1 mV")", "v"),
            Target::loihi2);
  ASSERT_TRUE(has(v, "neuro cores")) << ::testing::PrintToString(constraints(v));
}

TEST(ExportCheck, Loihi2SynapsesPerChip) {
  // 12,000 x 12,000 all-to-all: 144 million synapses, above 120 million; fan-in too.
  const auto v =
      check(network("lif_psc_exp", 12000, 12000, R"({"rule": "all_to_all"})", R"("1 pA")"),
            Target::loihi2);
  EXPECT_TRUE(has(v, "synapses per chip")) << ::testing::PrintToString(constraints(v));
}

TEST(ExportCheck, WeightPrecision) {
  // One projection whose weights span more than an 8-bit mantissa: 1 pA rounds to 0 next to
  // 1000 pA with one shared exponent.
  const std::string explicit_rule =
      R"({"rule": "explicit", "sources": [0, 1, 2], "targets": [0, 1, 2]})";
  const std::string weights = R"({"values": [1000, 500, 1], "unit": "pA"})";
  for (Target target : {Target::loihi2, Target::xylo}) {
    const auto v = check(network("lif_psc_exp", 3, 3, explicit_rule, weights), target);
    ASSERT_TRUE(has(v, "weight precision")) << ::testing::PrintToString(constraints(v));
  }
  // 3 pA next to 1000 pA survives on Loihi 2 (one sign: 255 steps) but not on Xylo (signed
  // 8-bit: 127 steps).
  const std::string close = R"({"values": [1000, 500, 3], "unit": "pA"})";
  EXPECT_FALSE(has(check(network("lif_psc_exp", 3, 3, explicit_rule, close), Target::loihi2),
                   "weight precision"));
  EXPECT_TRUE(has(check(network("lif_psc_exp", 3, 3, explicit_rule, close), Target::xylo),
                  "weight precision"));
}

TEST(ExportCheck, NeuronModels) {
  const std::string cond = network("lif_cond_exp", 10, 10, kOneToOne, R"("1 nS")");
  EXPECT_FALSE(has(check(cond, Target::loihi2), "neuron model"));  // approximated by the export
  EXPECT_TRUE(has(check(cond, Target::xylo), "neuron model"));
}

TEST(ExportCheck, XyloNeuronsInputsFanInFanOut) {
  // 2000 neurons (> 1000 hidden), 20 input channels (> 16), 20 sources per neuron (> 16 per
  // synapse), every source to 2000 targets (> 64 fan-out).
  const auto v = check(network("lif_psc_exp", 2000, 20, R"({"rule": "all_to_all"})", R"("1 pA")"),
                       Target::xylo);
  for (const char* constraint : {"hidden neurons", "input channels", "fan-in", "fan-out"})
    EXPECT_TRUE(has(v, constraint))
        << constraint << ": " << ::testing::PrintToString(constraints(v));
}

TEST(ExportCheck, CommandPrintsOneLinePerViolationAndExitsOne) {
  const std::string coba = std::string(SNNSIM_SOURCE_DIR) + "/examples/coba.json";
  const testing::CommandResult fits =
      testing::run_snnsim("export check " + coba + " --target loihi2");
  EXPECT_EQ(fits.status, 0) << fits.output;
  EXPECT_NE(fits.output.find("fits loihi2"), std::string::npos) << fits.output;

  const testing::CommandResult xylo =
      testing::run_snnsim("export check " + coba + " --target xylo");
  EXPECT_EQ(xylo.status, 1) << xylo.output;
  EXPECT_NE(xylo.output.find("network: hidden neurons: 4000 (limit 1000)"), std::string::npos)
      << xylo.output;
  EXPECT_NE(xylo.output.find("population E: neuron model: lif_cond_exp"), std::string::npos)
      << xylo.output;

  const testing::CommandResult bad = testing::run_snnsim("export check " + coba + " --target tpu");
  EXPECT_EQ(bad.status, 2) << bad.output;
}

}  // namespace
}  // namespace snnsim
