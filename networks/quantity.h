#pragma once
// Numbers with units and arithmetic expressions, as network files write them:
//   "20 ms", "-50 mV", "0.8 * N", "-g * J mV", "(N - NE) / 4", "2.5e-3 s", "1e4 Hz".
// A value is an expression optionally followed by a unit symbol; the expression may name the
// file's parameters. Values come out in the canonical unit of their dimension: Dimension,
// dimension_name() and canonical_unit() live in sim/units.h, which the engine shares.
//
// Expression grammar (whitespace is free between tokens):
//   sum     := product (('+' | '-') product)*
//   product := unary (('*' | '/') unary)*
//   unary   := ('-' | '+') unary | power
//   power   := atom ('**' unary)?          right associative; -2 ** 2 is -4, 2 ** -1 is 0.5
//   atom    := number | name | function '(' sum (',' sum)* ')' | '(' sum ')'
// Numbers are decimal (1, .5, 2.5e-3); names are [A-Za-z_][A-Za-z0-9_]*; the functions are
// sqrt exp log (natural) round (half away from zero) floor ceil, and min max (two or more
// arguments). Power is written ** only: ^ is an error, since it means xor in C-like languages.
//
// Units (case-sensitive; u may be written µ):
//   time s ms us | voltage V mV uV | conductance S mS uS nS pS | current A mA uA nA pA |
//   capacitance F uF nF pF | frequency Hz kHz MHz
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "sim/units.h"

namespace snnsim {

using ParameterScope = std::map<std::string, double, std::less<>>;

/// A value that cannot be read. The one-line message says what was expected and quotes what was
/// found, without the file or JSON path (the caller adds those). Syntax errors give the position
/// as the number of characters before the problem: `cannot parse "0.8 ** (N": missing ')' at
/// position 9`.
class QuantityError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Evaluates an arithmetic expression (grammar above) whose names come from `scope`. Division by
/// zero and any other non-finite result are errors.
double evaluate_expression(std::string_view text, const ParameterScope& scope);

/// A JSON number or string as a quantity of `expected` dimension, in its canonical unit.
/// - A number is accepted only for Dimension::dimensionless.
/// - A string is "EXPRESSION UNIT": its last whitespace-separated word is the unit when it is a
///   unit symbol (of any dimension) and not a name in `scope`. The unit's dimension must be
///   `expected`; dimensionless values take no unit, and dimensioned values must have one.
/// - Anything else (boolean, null, object, array) is an error.
double parse_quantity(const nlohmann::json& value, Dimension expected, const ParameterScope& scope);

/// A quantity typed on a command line: "1s", "1 s", "0.1ms", "250 ms", in the dimension's
/// canonical unit (ms for times). Throws QuantityError.
double parse_quantity_text(const std::string& text, Dimension expected);

/// The factor from `unit` to the canonical unit of `expected` ("V" -> 1000 for voltages), for
/// fields such as "unit": "nS". Throws when `unit` is unknown or of another dimension.
double unit_factor(std::string_view unit, Dimension expected);

/// Evaluates a "parameters" block of dimensionless numbers or expressions, which may use each
/// other in any order. `overrides` (NAME -> expression, from `--param NAME=VALUE`) replace the
/// block's values and may use its other parameters; overriding a name the block does not define
/// is an error. Errors name the parameter: `parameter 'NE': unknown name 'Nx' in "0.8 * Nx"`;
/// a cycle is reported with its path: `parameter 'a' is defined in terms of itself: a -> b -> a`.
ParameterScope evaluate_parameters(const nlohmann::json& block,
                                   const std::map<std::string, std::string>& overrides);

}  // namespace snnsim
