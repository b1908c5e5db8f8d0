#include "networks/quantity.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <set>
#include <sstream>

namespace snnsim {
namespace {

struct UnitInfo {
  std::string_view symbol;
  Dimension dimension;
  double factor;  ///< to the canonical unit
};

constexpr UnitInfo kUnits[] = {
    {"s", Dimension::time, 1e3},          {"ms", Dimension::time, 1.0},
    {"us", Dimension::time, 1e-3},        {"V", Dimension::voltage, 1e3},
    {"mV", Dimension::voltage, 1.0},      {"uV", Dimension::voltage, 1e-3},
    {"S", Dimension::conductance, 1e9},   {"mS", Dimension::conductance, 1e6},
    {"uS", Dimension::conductance, 1e3},  {"nS", Dimension::conductance, 1.0},
    {"pS", Dimension::conductance, 1e-3}, {"A", Dimension::current, 1e12},
    {"mA", Dimension::current, 1e9},      {"uA", Dimension::current, 1e6},
    {"nA", Dimension::current, 1e3},      {"pA", Dimension::current, 1.0},
    {"F", Dimension::capacitance, 1e12},  {"uF", Dimension::capacitance, 1e6},
    {"nF", Dimension::capacitance, 1e3},  {"pF", Dimension::capacitance, 1.0},
    {"Hz", Dimension::frequency, 1.0},    {"kHz", Dimension::frequency, 1e3},
    {"MHz", Dimension::frequency, 1e6},
};

const UnitInfo* find_unit(std::string_view symbol) {
  for (const UnitInfo& unit : kUnits) {
    if (unit.symbol == symbol) return &unit;
  }
  return nullptr;
}

/// "a time such as \"20 ms\"" and friends, for messages.
std::string expected_phrase(Dimension dimension) {
  switch (dimension) {
    case Dimension::dimensionless:
      return "a number";
    case Dimension::time:
      return "a time with a unit, e.g. \"20 ms\"";
    case Dimension::voltage:
      return "a voltage with a unit, e.g. \"-50 mV\"";
    case Dimension::conductance:
      return "a conductance with a unit, e.g. \"6 nS\"";
    case Dimension::current:
      return "a current with a unit, e.g. \"100 pA\"";
    case Dimension::capacitance:
      return "a capacitance with a unit, e.g. \"200 pF\"";
    case Dimension::frequency:
      return "a frequency with a unit, e.g. \"10 Hz\"";
  }
  return "a value";
}

/// Recursive-descent evaluation of the expression grammar:
///   sum     := product (('+' | '-') product)*
///   product := unary (('*' | '/') unary)*
///   unary   := ('-' | '+') unary | power
///   power   := atom ('**' unary)?
///   atom    := number | name | name '(' sum (',' sum)* ')' | '(' sum ')'
class ExpressionParser {
 public:
  ExpressionParser(std::string_view text, const ParameterScope& scope)
      : text_(text), scope_(scope) {}

  double parse() {
    const double value = sum();
    skip_space();
    if (at_ < text_.size()) fail("unexpected '" + std::string(1, text_[at_]) + "'");
    return value;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw QuantityError("cannot evaluate \"" + std::string(text_) + "\": " + what +
                        " at position " + std::to_string(at_ + 1));
  }

  void skip_space() {
    while (at_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[at_])))
      ++at_;
  }

  bool accept(std::string_view token) {
    skip_space();
    if (text_.substr(at_, token.size()) != token) return false;
    at_ += token.size();
    return true;
  }

  double sum() {
    double value = product();
    while (true) {
      if (accept("+"))
        value += product();
      else if (accept("-"))
        value -= product();
      else
        return value;
    }
  }

  double product() {
    double value = unary();
    while (true) {
      skip_space();
      if (text_.substr(at_, 2) == "**") return value;  // handled by power()
      if (accept("*")) {
        value *= unary();
      } else if (accept("/")) {
        const double divisor = unary();
        if (divisor == 0) fail("division by zero");
        value /= divisor;
      } else {
        return value;
      }
    }
  }

  double unary() {
    if (accept("-")) return -unary();
    if (accept("+")) return unary();
    return power();
  }

  double power() {
    const double base = atom();
    if (accept("**")) return std::pow(base, unary());
    return base;
  }

  double atom() {
    skip_space();
    if (at_ >= text_.size()) fail("expected a number or a name");
    const char ch = text_[at_];
    if (accept("(")) {
      const double value = sum();
      if (!accept(")")) fail("missing ')'");
      return value;
    }
    if (std::isdigit(static_cast<unsigned char>(ch)) || ch == '.') return number();
    if (std::isalpha(static_cast<unsigned char>(ch)) || ch == '_') return name();
    fail("unexpected '" + std::string(1, ch) + "'");
  }

  double number() {
    const std::string rest(text_.substr(at_));
    char* end = nullptr;
    const double value = std::strtod(rest.c_str(), &end);
    if (end == rest.c_str()) fail("malformed number");
    at_ += static_cast<std::size_t>(end - rest.c_str());
    return value;
  }

  double name() {
    const std::size_t start = at_;
    while (at_ < text_.size() &&
           (std::isalnum(static_cast<unsigned char>(text_[at_])) || text_[at_] == '_')) {
      ++at_;
    }
    const std::string identifier(text_.substr(start, at_ - start));
    if (accept("(")) return call(identifier);
    const auto found = scope_.find(identifier);
    if (found == scope_.end()) {
      at_ = start;
      fail("unknown name '" + identifier + "'");
    }
    return found->second;
  }

  double call(const std::string& function) {
    std::vector<double> args{sum()};
    while (accept(","))
      args.push_back(sum());
    if (!accept(")")) fail("missing ')'");
    auto need = [&](std::size_t count) {
      if (args.size() != count)
        fail(function + "() takes " + std::to_string(count) + " argument(s)");
    };
    if (function == "min" || function == "max") {
      need(2);
      return function == "min" ? std::min(args[0], args[1]) : std::max(args[0], args[1]);
    }
    need(1);
    const double x = args[0];
    if (function == "sqrt") return std::sqrt(x);
    if (function == "exp") return std::exp(x);
    if (function == "log") return std::log(x);
    if (function == "round") return std::round(x);
    if (function == "floor") return std::floor(x);
    if (function == "ceil") return std::ceil(x);
    fail("unknown function '" + function + "'");
  }

  std::string_view text_;
  const ParameterScope& scope_;
  std::size_t at_ = 0;
};

}  // namespace

double evaluate_expression(std::string_view text, const ParameterScope& scope) {
  const double value = ExpressionParser(text, scope).parse();
  if (!std::isfinite(value)) {
    throw QuantityError("\"" + std::string(text) + "\" is not a finite number");
  }
  return value;
}

double unit_factor(std::string_view unit, Dimension expected) {
  const UnitInfo* info = find_unit(unit);
  if (info == nullptr) throw QuantityError("unknown unit '" + std::string(unit) + "'");
  if (info->dimension != expected) {
    throw QuantityError("expected a unit of " + std::string(dimension_name(expected)) +
                        " such as " + std::string(canonical_unit(expected)) + "; found '" +
                        std::string(unit) + "', a unit of " +
                        std::string(dimension_name(info->dimension)));
  }
  return info->factor;
}

double parse_quantity(const nlohmann::json& value, Dimension expected,
                      const ParameterScope& scope) {
  if (value.is_number()) {
    if (expected != Dimension::dimensionless) {
      throw QuantityError("expected " + expected_phrase(expected) + "; found the bare number " +
                          value.dump());
    }
    return value.get<double>();
  }
  if (!value.is_string()) {
    throw QuantityError("expected " + expected_phrase(expected) + "; found " +
                        (value.is_object()  ? "an object"
                         : value.is_array() ? "an array"
                                            : value.dump()));
  }
  const std::string text = value.get<std::string>();
  // The unit, if any, is the last word, when that word is a unit symbol and not a parameter.
  std::string expression = text;
  const UnitInfo* unit = nullptr;
  const std::size_t end = text.find_last_not_of(" \t");
  const std::size_t space =
      end == std::string::npos ? std::string::npos : text.find_last_of(" \t", end);
  if (space != std::string::npos) {
    const std::string last = text.substr(space + 1, end - space);
    if (scope.find(last) == scope.end()) unit = find_unit(last);
    if (unit != nullptr) expression = text.substr(0, space);
  }
  if (unit == nullptr && expected != Dimension::dimensionless) {
    throw QuantityError("expected " + expected_phrase(expected) + "; found \"" + text +
                        "\" without a unit");
  }
  if (unit != nullptr && unit->dimension != expected) {
    throw QuantityError("expected " + expected_phrase(expected) + "; found \"" + text + "\", a " +
                        std::string(dimension_name(unit->dimension)));
  }
  return evaluate_expression(expression, scope) * (unit ? unit->factor : 1.0);
}

ParameterScope evaluate_parameters(const nlohmann::json& block,
                                   const std::map<std::string, std::string>& overrides) {
  std::map<std::string, nlohmann::json> definitions;
  for (const auto& [name, value] : block.items())
    definitions[name] = value;
  for (const auto& [name, text] : overrides) {
    if (!definitions.count(name)) {
      std::string known;
      for (const auto& [defined, unused] : definitions)
        known += (known.empty() ? "" : ", ") + defined;
      throw QuantityError("unknown parameter '" + name +
                          "' in --param; the network defines: " + (known.empty() ? "none" : known));
    }
    definitions[name] = text;
  }
  // Evaluate on demand so that parameters may refer to each other in any order; a name met again
  // while being evaluated is a cycle.
  ParameterScope scope;
  std::set<std::string> in_progress;
  std::function<void(const std::string&)> resolve = [&](const std::string& name) {
    if (scope.count(name)) return;
    if (!in_progress.insert(name).second) {
      throw QuantityError("parameter '" + name + "' is defined in terms of itself");
    }
    const nlohmann::json& definition = definitions.at(name);
    // Names used by this definition are resolved first.
    if (definition.is_string()) {
      const std::string text = definition.get<std::string>();
      for (std::size_t i = 0; i < text.size();) {
        if (!std::isalpha(static_cast<unsigned char>(text[i])) && text[i] != '_') {
          ++i;
          continue;
        }
        const std::size_t start = i;
        while (i < text.size() &&
               (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_'))
          ++i;
        const std::string word = text.substr(start, i - start);
        if (definitions.count(word)) resolve(word);
      }
    }
    try {
      scope[name] = parse_quantity(definition, Dimension::dimensionless, scope);
    } catch (const QuantityError& error) {
      throw QuantityError("parameter '" + name + "': " + error.what());
    }
    in_progress.erase(name);
  };
  for (const auto& [name, unused] : definitions)
    resolve(name);
  return scope;
}

}  // namespace snnsim
