#pragma once
// Numbers with units and arithmetic expressions, as network files write them:
//   "20 ms", "-50 mV", "0.8 * N", "-g * J mV", "theta / (J * CE * tau_m)", "1e4 Hz".
// A value is an expression optionally followed by a unit symbol; the expression may name the
// file's parameters. Values come out in the canonical unit of their dimension (sim/units.h).
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

#include "sim/units.h"

namespace snnsim {

using ParameterScope = std::map<std::string, double, std::less<>>;

/// A value that cannot be read. The message says what was expected and what was found, without
/// the file or place (the caller adds those).
class QuantityError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Evaluates an arithmetic expression: numbers, names from `scope`, + - * /, ** (power, right
/// associative), unary minus and plus, parentheses, and sqrt exp log min max round floor ceil.
double evaluate_expression(std::string_view text, const ParameterScope& scope);

/// A JSON number or string as a quantity of `expected` dimension, in its canonical unit. Numbers
/// without a unit are accepted only for dimensionless quantities.
double parse_quantity(const nlohmann::json& value, Dimension expected, const ParameterScope& scope);

/// The factor from `unit` to the canonical unit of `expected` ("V" -> 1000 for voltages).
double unit_factor(std::string_view unit, Dimension expected);

/// Evaluates a "parameters" block (entries may use each other, in any order), with command-line
/// `overrides` (NAME -> expression) replacing the file's values.
ParameterScope evaluate_parameters(const nlohmann::json& block,
                                   const std::map<std::string, std::string>& overrides);

}  // namespace snnsim
