// Values with units and arithmetic expressions, as network files write them.
#include "networks/quantity.h"

#include <functional>
#include <limits>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace snnsim {
namespace {

using nlohmann::json;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

/// The message of the QuantityError that `action` throws ("" and a test failure if none).
std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const QuantityError& error) {
    return error.what();
  }
  ADD_FAILURE() << "expected a QuantityError";
  return "";
}

std::string expression_error(std::string_view text, const ParameterScope& scope = {}) {
  return error_of([&] { evaluate_expression(text, scope); });
}

std::string quantity_error(const json& value, Dimension expected,
                           const ParameterScope& scope = {}) {
  return error_of([&] { parse_quantity(value, expected, scope); });
}

std::string parameters_error(const std::string& block,
                             const std::map<std::string, std::string>& overrides = {}) {
  return error_of([&] { evaluate_parameters(json::parse(block), overrides); });
}

TEST(Expression, PrecedenceAndAssociativity) {
  EXPECT_DOUBLE_EQ(evaluate_expression("1 + 2 * 3", {}), 7);
  EXPECT_DOUBLE_EQ(evaluate_expression("(1 + 2) * 3", {}), 9);
  EXPECT_DOUBLE_EQ(evaluate_expression("10 - 4 - 3", {}), 3);
  EXPECT_DOUBLE_EQ(evaluate_expression("8 / 4 / 2", {}), 1);
  EXPECT_DOUBLE_EQ(evaluate_expression("2 * 3 ** 2", {}), 18);
  EXPECT_DOUBLE_EQ(evaluate_expression("2 ** 3 ** 2", {}), 512);  // right associative
  EXPECT_DOUBLE_EQ(evaluate_expression("(2 ** 3) ** 2", {}), 64);
  EXPECT_DOUBLE_EQ(evaluate_expression("2**-1", {}), 0.5);
  EXPECT_DOUBLE_EQ(evaluate_expression(" ( ( 4 ) ) ", {}), 4);
}

TEST(Expression, UnaryMinusAndPlus) {
  EXPECT_DOUBLE_EQ(evaluate_expression("-3", {}), -3);
  EXPECT_DOUBLE_EQ(evaluate_expression("--3", {}), 3);
  EXPECT_DOUBLE_EQ(evaluate_expression("+3", {}), 3);
  EXPECT_DOUBLE_EQ(evaluate_expression("2 * -3", {}), -6);
  EXPECT_DOUBLE_EQ(evaluate_expression("1 - -1", {}), 2);
  EXPECT_DOUBLE_EQ(evaluate_expression("-2 ** 2", {}), -4);  // as in Python: -(2 ** 2)
  EXPECT_DOUBLE_EQ(evaluate_expression("(-2) ** 2", {}), 4);
}

TEST(Expression, NumberForms) {
  EXPECT_DOUBLE_EQ(evaluate_expression("1e-3", {}), 1e-3);
  EXPECT_DOUBLE_EQ(evaluate_expression(".5", {}), 0.5);
  EXPECT_DOUBLE_EQ(evaluate_expression("5.", {}), 5);
  EXPECT_DOUBLE_EQ(evaluate_expression("2.5E+2", {}), 250);
  EXPECT_DOUBLE_EQ(evaluate_expression("1e4", {}), 1e4);
}

TEST(Expression, Functions) {
  EXPECT_DOUBLE_EQ(evaluate_expression("sqrt(16)", {}), 4);
  EXPECT_DOUBLE_EQ(evaluate_expression("exp(0)", {}), 1);
  EXPECT_DOUBLE_EQ(evaluate_expression("log(exp(2))", {}), 2);
  EXPECT_DOUBLE_EQ(evaluate_expression("round(2.5) + round(-2.5)", {}), 0);  // half away from 0
  EXPECT_DOUBLE_EQ(evaluate_expression("floor(-1.5)", {}), -2);
  EXPECT_DOUBLE_EQ(evaluate_expression("ceil(1.2)", {}), 2);
  EXPECT_DOUBLE_EQ(evaluate_expression("min(3, 1, 2)", {}), 1);
  EXPECT_DOUBLE_EQ(evaluate_expression("max(3, 1 + 4)", {}), 5);
  EXPECT_DOUBLE_EQ(evaluate_expression("2 * sqrt (4) ** 2", {}), 8);
}

TEST(Expression, NamesComeFromTheScope) {
  const ParameterScope scope{{"N", 4000}, {"NE", 3200}, {"g", 5}, {"J", 0.1}, {"tau_m2", 20}};
  EXPECT_DOUBLE_EQ(evaluate_expression("0.8 * N", scope), 3200);
  EXPECT_DOUBLE_EQ(evaluate_expression("(N - NE) / 4", scope), 200);
  EXPECT_DOUBLE_EQ(evaluate_expression("-g * J", scope), -0.5);
  EXPECT_DOUBLE_EQ(evaluate_expression("tau_m2 / 2", scope), 10);
  EXPECT_THAT(expression_error("0.8 * Nx", scope), HasSubstr("unknown name 'Nx' in \"0.8 * Nx\""));
  EXPECT_THAT(expression_error("n", scope), HasSubstr("unknown name 'n'"));  // case-sensitive
  EXPECT_THAT(expression_error("2 * ms", scope),
              HasSubstr("unknown name 'ms' in \"2 * ms\"; a unit may only follow the whole"));
  EXPECT_THAT(expression_error("20 ms + 5", scope),
              HasSubstr("found 'ms' at position 3; a unit may only follow the whole expression"));
}

TEST(Expression, SyntaxErrorsGiveThePosition) {
  EXPECT_EQ(expression_error("0.8 ** (N", {{"N", 1}}),
            "cannot parse \"0.8 ** (N\": missing ')' at position 9");
  EXPECT_EQ(expression_error("2 +"),
            "cannot parse \"2 +\": expected a number, a name or '(' at position 3");
  EXPECT_THAT(expression_error(""), HasSubstr("expected a number, a name or '(' at position 0"));
  EXPECT_THAT(expression_error("3 $"),
              HasSubstr("expected an operator or the end; found '$' at position 2"));
  EXPECT_THAT(expression_error("2 N", {{"N", 1}}), HasSubstr("found 'N' at position 2"));
  EXPECT_THAT(expression_error("(1 2)"), HasSubstr("expected an operator or ')'; found '2'"));
  EXPECT_THAT(expression_error("1 )"), HasSubstr("found ')' at position 2"));
  EXPECT_THAT(expression_error("2 ^ 3"),
              HasSubstr("found '^' at position 2; powers are written **"));
  EXPECT_THAT(expression_error("2 *** 3"), HasSubstr("found '*' at position 4"));
  EXPECT_THAT(expression_error("1 + \xC2\xB5"), HasSubstr("found '\xC2\xB5' at position 4"));
  EXPECT_THAT(expression_error("."), HasSubstr("malformed number at position 0"));
  EXPECT_THAT(expression_error("1e999"), HasSubstr("the number 1e999 is out of range"));
}

TEST(Expression, FunctionErrors) {
  EXPECT_THAT(expression_error("1 + frob(1)"),
              HasSubstr("unknown function 'frob' (the functions are sqrt, exp, log, round, "
                        "floor, ceil, min, max) at position 4"));
  EXPECT_THAT(expression_error("sqrt(1, 2)"),
              HasSubstr("sqrt() takes 1 argument; found 2 at position 0"));
  EXPECT_THAT(expression_error("min(1)"), HasSubstr("min() takes at least 2 arguments; found 1"));
  EXPECT_THAT(expression_error("max(1, 2"), HasSubstr("missing ')' at position 8"));
  EXPECT_THAT(expression_error("max(1; 2)"), HasSubstr("expected ',' or ')'; found ';'"));
}

TEST(Expression, NonFiniteResultsAreErrors) {
  EXPECT_EQ(expression_error("1 / (N - N)", {{"N", 3}}),
            "cannot evaluate \"1 / (N - N)\": division by zero at position 2");
  EXPECT_THAT(expression_error("0 / 0"), HasSubstr("division by zero"));
  EXPECT_THAT(expression_error("log(0 - 1)"), HasSubstr("log(-1) is not a finite number"));
  EXPECT_THAT(expression_error("log(0)"), HasSubstr("log(0) is not a finite number"));
  EXPECT_THAT(expression_error("sqrt(-4)"), HasSubstr("sqrt(-4) is not a finite number"));
  EXPECT_THAT(expression_error("(-8) ** 0.5"), HasSubstr("-8 ** 0.5 is not a finite number"));
  EXPECT_THAT(expression_error("1e308 * 10"),
              HasSubstr("1e+308 * 10 is not a finite number at position 6"));
  EXPECT_THAT(expression_error("exp(1000)"), HasSubstr("exp(1000) is not a finite number"));
  EXPECT_THAT(expression_error("2 * x", {{"x", std::numeric_limits<double>::infinity()}}),
              HasSubstr("'x' is inf"));
}

TEST(Quantity, ExamplesFromNetworkFiles) {
  const ParameterScope scope{{"N", 4000}, {"NE", 3200}, {"g", 5}, {"J", 0.1}};
  EXPECT_DOUBLE_EQ(parse_quantity("20 ms", Dimension::time, scope), 20);
  EXPECT_DOUBLE_EQ(parse_quantity("-50 mV", Dimension::voltage, scope), -50);
  EXPECT_DOUBLE_EQ(parse_quantity("0.8 * N", Dimension::dimensionless, scope), 3200);
  EXPECT_DOUBLE_EQ(parse_quantity("-g * J mV", Dimension::voltage, scope), -0.5);
  EXPECT_DOUBLE_EQ(parse_quantity("1 s", Dimension::time, scope), 1000);
  EXPECT_DOUBLE_EQ(parse_quantity("(N - NE) / 4", Dimension::dimensionless, scope), 200);
  EXPECT_DOUBLE_EQ(parse_quantity("2.5e-3 s", Dimension::time, scope), 2.5);
  EXPECT_DOUBLE_EQ(parse_quantity("1e4 Hz", Dimension::frequency, scope), 1e4);
  EXPECT_DOUBLE_EQ(parse_quantity("6 nS", Dimension::conductance, scope), 6);
  EXPECT_DOUBLE_EQ(parse_quantity(" 6\tnS ", Dimension::conductance, scope), 6);
  EXPECT_DOUBLE_EQ(parse_quantity(2.5, Dimension::dimensionless, scope), 2.5);
  EXPECT_DOUBLE_EQ(parse_quantity(-3, Dimension::dimensionless, scope), -3);
}

TEST(Quantity, EveryUnitConvertsToTheCanonicalOne) {
  const struct {
    const char* unit;
    Dimension dimension;
    double factor;
  } cases[] = {
      {"s", Dimension::time, 1000},         {"ms", Dimension::time, 1},
      {"us", Dimension::time, 1e-3},        {"\xC2\xB5s", Dimension::time, 1e-3},
      {"\xCE\xBCs", Dimension::time, 1e-3}, {"V", Dimension::voltage, 1000},
      {"mV", Dimension::voltage, 1},        {"uV", Dimension::voltage, 1e-3},
      {"S", Dimension::conductance, 1e9},   {"mS", Dimension::conductance, 1e6},
      {"uS", Dimension::conductance, 1e3},  {"nS", Dimension::conductance, 1},
      {"pS", Dimension::conductance, 1e-3}, {"A", Dimension::current, 1e12},
      {"mA", Dimension::current, 1e9},      {"uA", Dimension::current, 1e6},
      {"nA", Dimension::current, 1e3},      {"pA", Dimension::current, 1},
      {"F", Dimension::capacitance, 1e12},  {"uF", Dimension::capacitance, 1e6},
      {"nF", Dimension::capacitance, 1e3},  {"pF", Dimension::capacitance, 1},
      {"Hz", Dimension::frequency, 1},      {"kHz", Dimension::frequency, 1e3},
      {"MHz", Dimension::frequency, 1e6},
  };
  for (const auto& c : cases) {
    EXPECT_DOUBLE_EQ(parse_quantity(std::string("2 ") + c.unit, c.dimension, {}), 2 * c.factor)
        << c.unit;
    EXPECT_DOUBLE_EQ(unit_factor(c.unit, c.dimension), c.factor) << c.unit;
  }
}

TEST(Quantity, DimensionedValuesNeedTheirUnit) {
  EXPECT_EQ(quantity_error(20, Dimension::time),
            "expected a time with a unit, e.g. \"20 ms\"; found the bare number 20");
  EXPECT_THAT(quantity_error(0.5, Dimension::voltage), HasSubstr("found the bare number 0.5"));
  EXPECT_EQ(quantity_error("20", Dimension::time),
            "expected a time with a unit, e.g. \"20 ms\"; found \"20\" without a unit");
  EXPECT_THAT(quantity_error("20ms", Dimension::time),
              HasSubstr("found \"20ms\" without a unit (write a space before the unit 'ms')"));
  EXPECT_THAT(
      quantity_error("0.8 * (N)nS", Dimension::conductance, {{"N", 1}}),
      HasSubstr("found \"0.8 * (N)nS\" without a unit (write a space before the unit 'nS')"));
  EXPECT_THAT(quantity_error("20 msec", Dimension::time),
              HasSubstr("found \"20 msec\", and 'msec' is not a unit (time units: s, ms, us)"));
  EXPECT_THAT(quantity_error("20 Ms", Dimension::time), HasSubstr("'Ms' is not a unit"));
  EXPECT_THAT(quantity_error("ms", Dimension::time),
              HasSubstr("found \"ms\" with no number before the unit"));
}

TEST(Quantity, TheUnitMustBeOfTheExpectedDimension) {
  EXPECT_EQ(quantity_error("20 ms", Dimension::voltage),
            "expected a voltage with a unit, e.g. \"-50 mV\"; found \"20 ms\", a time");
  EXPECT_THAT(quantity_error("6 mV", Dimension::conductance),
              HasSubstr("expected a conductance with a unit, e.g. \"6 nS\"; found \"6 mV\", a "
                        "voltage"));
  EXPECT_THAT(quantity_error("1 kHz mV", Dimension::frequency), HasSubstr("a voltage"));
  EXPECT_THAT(quantity_error("100 pA", Dimension::capacitance), HasSubstr(", a current"));
  EXPECT_THAT(quantity_error("1 pF", Dimension::frequency), HasSubstr(", a capacitance"));
  EXPECT_THAT(quantity_error("1 Hz", Dimension::current), HasSubstr(", a frequency"));
  EXPECT_THAT(quantity_error("1 nS", Dimension::time), HasSubstr(", a conductance"));
}

TEST(Quantity, DimensionlessValuesTakeNoUnit) {
  EXPECT_EQ(quantity_error("3 ms", Dimension::dimensionless),
            "expected a number without a unit; found \"3 ms\", a time");
  EXPECT_THAT(quantity_error("2 * S", Dimension::dimensionless), HasSubstr("a conductance"));
  // A parameter named like a unit is the parameter.
  EXPECT_DOUBLE_EQ(parse_quantity("2 * S", Dimension::dimensionless, {{"S", 4}}), 8);
  EXPECT_DOUBLE_EQ(parse_quantity("2 * S nS", Dimension::conductance, {{"S", 4}}), 8);
}

TEST(Quantity, OtherJsonValuesAreErrors) {
  EXPECT_EQ(quantity_error(json::object(), Dimension::time),
            "expected a time with a unit, e.g. \"20 ms\"; found an object");
  EXPECT_THAT(quantity_error(json::array({1}), Dimension::dimensionless),
              HasSubstr("expected a number without a unit; found an array"));
  EXPECT_THAT(quantity_error(true, Dimension::voltage), HasSubstr("found true"));
  EXPECT_THAT(quantity_error(nullptr, Dimension::current), HasSubstr("found null"));
}

TEST(Quantity, ExpressionErrorsInsideQuantities) {
  EXPECT_EQ(quantity_error("0.8 * (N mV", Dimension::voltage, {{"N", 1}}),
            "cannot parse \"0.8 * (N\": missing ')' at position 8");
  EXPECT_THAT(quantity_error("1 / 0 s", Dimension::time), HasSubstr("division by zero"));
  EXPECT_THAT(quantity_error("Nx ms", Dimension::time), HasSubstr("unknown name 'Nx'"));
}

TEST(UnitFactor, UnknownAndMismatchedUnits) {
  EXPECT_EQ(error_of([] { unit_factor("mV", Dimension::time); }),
            "expected a unit of time (s, ms, us); found 'mV', a unit of voltage");
  EXPECT_EQ(error_of([] { unit_factor("furlong", Dimension::conductance); }),
            "expected a unit of conductance (S, mS, uS, nS, pS); found 'furlong', which is not "
            "a unit");
  EXPECT_THAT(error_of([] { unit_factor("MS", Dimension::conductance); }),
              HasSubstr("'MS', which is not a unit"));  // case-sensitive
  EXPECT_THAT(error_of([] { unit_factor("nS", Dimension::dimensionless); }),
              HasSubstr("expected no unit; found 'nS', a unit of conductance"));
}

TEST(Parameters, ResolveInAnyOrder) {
  const json block = json::parse(R"json({"NI": "N - NE", "NE": "round(0.8 * N)", "N": 1000,
                                     "w": "J * g", "J": 0.1, "g": 5, "a_1": "NI / 2"})json");
  const ParameterScope scope = evaluate_parameters(block, {});
  EXPECT_EQ(scope.size(), 7u);
  EXPECT_DOUBLE_EQ(scope.at("N"), 1000);
  EXPECT_DOUBLE_EQ(scope.at("NE"), 800);
  EXPECT_DOUBLE_EQ(scope.at("NI"), 200);
  EXPECT_DOUBLE_EQ(scope.at("a_1"), 100);
  EXPECT_DOUBLE_EQ(scope.at("w"), 0.5);
  EXPECT_TRUE(evaluate_parameters(json::object(), {}).empty());
}

TEST(Parameters, OverridesReplaceValuesAndMayBeExpressions) {
  const json block = json::parse(R"({"N": 1000, "NE": "0.8 * N", "g": 5})");
  const ParameterScope bigger = evaluate_parameters(block, {{"N", "100000"}});
  EXPECT_DOUBLE_EQ(bigger.at("N"), 100000);
  EXPECT_DOUBLE_EQ(bigger.at("NE"), 80000);
  const ParameterScope computed = evaluate_parameters(block, {{"N", "2 * 5000"}, {"g", "4.5"}});
  EXPECT_DOUBLE_EQ(computed.at("NE"), 8000);
  EXPECT_DOUBLE_EQ(computed.at("g"), 4.5);
  const ParameterScope uses_others = evaluate_parameters(block, {{"NE", "N / 2"}});
  EXPECT_DOUBLE_EQ(uses_others.at("NE"), 500);
}

TEST(Parameters, UnknownOverrideListsTheDefinedNames) {
  EXPECT_EQ(parameters_error(R"({"N": 1, "g": 2, "J": 3})", {{"M", "3"}}),
            "unknown parameter 'M' in --param; the network defines: J, N, g");
  EXPECT_EQ(parameters_error("{}", {{"M", "3"}}),
            "unknown parameter 'M' in --param; the network defines no parameters");
}

TEST(Parameters, ErrorsNameTheParameter) {
  EXPECT_EQ(parameters_error(R"({"N": 10, "NE": "0.8 * Nx"})"),
            "parameter 'NE': unknown name 'Nx' in \"0.8 * Nx\"");
  // The error is reported for the parameter whose definition is wrong, not the ones using it.
  EXPECT_EQ(parameters_error(R"({"a": "b + 1", "b": "1 / 0"})"),
            "parameter 'b': cannot evaluate \"1 / 0\": division by zero at position 2");
  EXPECT_THAT(parameters_error(R"({"N": "2 *"})"),
              HasSubstr("parameter 'N': cannot parse \"2 *\""));
  EXPECT_THAT(parameters_error(R"({"N": 10})", {{"N", "ten"}}),
              HasSubstr("parameter 'N' (from --param): unknown name 'ten'"));
  EXPECT_THAT(parameters_error(R"({"N": true})"), HasSubstr("parameter 'N': expected a number"));
  EXPECT_THAT(parameters_error(R"({"N x": 1})"), HasSubstr("parameter 'N x': a name starts"));
  EXPECT_THAT(parameters_error("[1]"), HasSubstr("expected an object of named numbers"));
}

TEST(Parameters, ParametersArePlainNumbers) {
  EXPECT_EQ(parameters_error(R"({"tau": "20 ms"})"),
            "parameter 'tau': expected a number without a unit; found \"20 ms\", a time");
}

TEST(Parameters, CyclesAreErrorsThatShowTheCycle) {
  EXPECT_EQ(parameters_error(R"({"a": "b + 1", "b": "2 * c", "c": "a"})"),
            "parameter 'a' is defined in terms of itself: a -> b -> c -> a");
  EXPECT_EQ(parameters_error(R"({"N": "N + 1"})"),
            "parameter 'N' is defined in terms of itself: N -> N");
  // A cycle that does not start at the first parameter evaluated.
  EXPECT_THAT(parameters_error(R"({"a": "x", "x": "y", "y": "x"})"),
              AllOf(HasSubstr("x -> y -> x"), Not(HasSubstr("a ->"))));
}

}  // namespace
}  // namespace snnsim
