// Values with units and arithmetic expressions, as network files write them.
#include "networks/quantity.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace snnsim {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const QuantityError& error) {
    return error.what();
  }
  ADD_FAILURE() << "expected a QuantityError";
  return "";
}

TEST(Expression, PrecedenceAssociativityAndFunctions) {
  const ParameterScope scope{{"N", 4000}, {"g", 5}, {"J", 0.1}};
  EXPECT_DOUBLE_EQ(evaluate_expression("1 + 2 * 3", scope), 7);
  EXPECT_DOUBLE_EQ(evaluate_expression("(1 + 2) * 3", scope), 9);
  EXPECT_DOUBLE_EQ(evaluate_expression("8 / 4 / 2", scope), 1);
  EXPECT_DOUBLE_EQ(evaluate_expression("10 - 4 - 3", scope), 3);
  EXPECT_DOUBLE_EQ(evaluate_expression("2 ** 3 ** 2", scope), 512);  // right associative
  EXPECT_DOUBLE_EQ(evaluate_expression("-2 ** 2", scope), -4);
  EXPECT_DOUBLE_EQ(evaluate_expression("-g * J", scope), -0.5);
  EXPECT_DOUBLE_EQ(evaluate_expression("0.8 * N", scope), 3200);
  EXPECT_DOUBLE_EQ(evaluate_expression(".5e1 + 1e-1", scope), 5.1);
  EXPECT_DOUBLE_EQ(evaluate_expression("round(2.5) + floor(1.7) + ceil(1.2)", scope), 3 + 1 + 2);
  EXPECT_DOUBLE_EQ(evaluate_expression("min(3, N) + max(1, 2) + sqrt(16) + exp(0) + log(1)", scope),
                   10);
}

TEST(Expression, ErrorsNameTheProblemAndPosition) {
  const ParameterScope scope{{"N", 10}};
  EXPECT_THAT(error_of([&] { evaluate_expression("0.8 * (N", scope); }), HasSubstr("missing ')'"));
  EXPECT_THAT(error_of([&] { evaluate_expression("0.8 * M", scope); }),
              HasSubstr("unknown name 'M' at position 7"));
  EXPECT_THAT(error_of([&] { evaluate_expression("1 / 0", scope); }),
              HasSubstr("division by zero"));
  EXPECT_THAT(error_of([&] { evaluate_expression("2 +", scope); }),
              HasSubstr("expected a number or a name"));
  EXPECT_THAT(error_of([&] { evaluate_expression("3 $", scope); }), HasSubstr("unexpected '$'"));
  EXPECT_THAT(error_of([&] { evaluate_expression("frob(1)", scope); }),
              HasSubstr("unknown function 'frob'"));
  EXPECT_THAT(error_of([&] { evaluate_expression("log(0 - 1)", scope); }),
              HasSubstr("not a finite number"));
}

TEST(Quantity, EveryUnitConvertsToTheCanonicalOne) {
  const struct {
    const char* text;
    Dimension dimension;
    double expected;
  } cases[] = {
      {"1 s", Dimension::time, 1000},         {"1 ms", Dimension::time, 1},
      {"1 us", Dimension::time, 1e-3},        {"1 V", Dimension::voltage, 1000},
      {"1 mV", Dimension::voltage, 1},        {"1 uV", Dimension::voltage, 1e-3},
      {"1 S", Dimension::conductance, 1e9},   {"1 mS", Dimension::conductance, 1e6},
      {"1 uS", Dimension::conductance, 1e3},  {"1 nS", Dimension::conductance, 1},
      {"1 pS", Dimension::conductance, 1e-3}, {"1 A", Dimension::current, 1e12},
      {"1 mA", Dimension::current, 1e9},      {"1 uA", Dimension::current, 1e6},
      {"1 nA", Dimension::current, 1e3},      {"1 pA", Dimension::current, 1},
      {"1 F", Dimension::capacitance, 1e12},  {"1 uF", Dimension::capacitance, 1e6},
      {"1 nF", Dimension::capacitance, 1e3},  {"1 pF", Dimension::capacitance, 1},
      {"1 Hz", Dimension::frequency, 1},      {"1 kHz", Dimension::frequency, 1e3},
      {"1 MHz", Dimension::frequency, 1e6},
  };
  for (const auto& c : cases) {
    EXPECT_DOUBLE_EQ(parse_quantity(json(c.text), c.dimension, {}), c.expected) << c.text;
  }
  EXPECT_DOUBLE_EQ(parse_quantity(json("-g * J mV"), Dimension::voltage, {{"g", 5}, {"J", 0.1}}),
                   -0.5);
  EXPECT_DOUBLE_EQ(parse_quantity(json(2.5), Dimension::dimensionless, {}), 2.5);
  EXPECT_DOUBLE_EQ(unit_factor("kHz", Dimension::frequency), 1000);
}

TEST(Quantity, UnitsAreRequiredAndChecked) {
  EXPECT_THAT(error_of([] { parse_quantity(json(20), Dimension::time, {}); }),
              HasSubstr("expected a time with a unit, e.g. \"20 ms\"; found the bare number 20"));
  EXPECT_THAT(error_of([] { parse_quantity(json("20"), Dimension::time, {}); }),
              HasSubstr("without a unit"));
  EXPECT_THAT(error_of([] { parse_quantity(json("20 mV"), Dimension::time, {}); }),
              HasSubstr("found \"20 mV\", a voltage"));
  EXPECT_THAT(error_of([] { parse_quantity(json("3 ms"), Dimension::dimensionless, {}); }),
              HasSubstr("a time"));
  EXPECT_THAT(error_of([] { parse_quantity(json::object(), Dimension::time, {}); }),
              HasSubstr("found an object"));
  EXPECT_THAT(error_of([] { parse_quantity(json(true), Dimension::voltage, {}); }),
              HasSubstr("found true"));
  EXPECT_THAT(error_of([] { unit_factor("mV", Dimension::time); }),
              HasSubstr("found 'mV', a unit of voltage"));
  EXPECT_THAT(error_of([] { unit_factor("furlong", Dimension::time); }),
              HasSubstr("unknown unit 'furlong'"));
}

TEST(Quantity, AParameterNamedLikeAUnitIsAParameter) {
  // "S" is siemens, but a parameter called S wins as the last word of a dimensionless value.
  EXPECT_DOUBLE_EQ(parse_quantity(json("2 * S"), Dimension::dimensionless, {{"S", 4}}), 8);
}

TEST(Parameters, ResolveInAnyOrderWithOverrides) {
  const json block = json::parse(
      R"json({"NI": "N - NE", "NE": "round(0.8 * N)", "N": 1000, "Ne_total": "NE"})json");
  const ParameterScope scope = evaluate_parameters(block, {});
  EXPECT_EQ(scope.at("NE"), 800);
  EXPECT_EQ(scope.at("NI"), 200);
  EXPECT_EQ(scope.at("Ne_total"), 800);
  const ParameterScope overridden = evaluate_parameters(block, {{"N", "2 * 5000"}});
  EXPECT_EQ(overridden.at("NE"), 8000);
}

TEST(Parameters, CyclesUnknownNamesAndOverridesAreErrors) {
  EXPECT_THAT(error_of([] { evaluate_parameters(json::parse(R"({"a": "b + 1", "b": "a"})"), {}); }),
              HasSubstr("defined in terms of itself"));
  EXPECT_THAT(error_of([] { evaluate_parameters(json::parse(R"({"a": "c + 1"})"), {}); }),
              HasSubstr("parameter 'a': cannot evaluate \"c + 1\": unknown name 'c'"));
  EXPECT_THAT(error_of([] {
                evaluate_parameters(json::parse(R"({"N": 1, "g": 2})"), {{"M", "3"}});
              }),
              HasSubstr("unknown parameter 'M' in --param; the network defines: N, g"));
}

}  // namespace
}  // namespace snnsim
