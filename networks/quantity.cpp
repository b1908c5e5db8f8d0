#include "networks/quantity.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <iterator>
#include <regex>
#include <vector>

namespace snnsim {
namespace {

using nlohmann::json;

struct Unit {
  std::string_view symbol;
  Dimension dimension;
  double factor;  ///< to the canonical unit
};

constexpr Unit kUnits[] = {
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

// The micro sign (U+00B5) and the Greek letter mu (U+03BC) look the same, so both stand for u.
constexpr std::string_view kMicroSpellings[] = {"\xC2\xB5", "\xCE\xBC"};

const Unit* find_unit(std::string_view symbol) {
  std::string spelled(symbol);
  for (std::string_view micro : kMicroSpellings) {
    if (symbol.starts_with(micro)) spelled = "u" + std::string(symbol.substr(micro.size()));
  }
  for (const Unit& unit : kUnits) {
    if (unit.symbol == spelled) return &unit;
  }
  return nullptr;
}

/// "s, ms, us": the symbols of a dimension, for messages.
std::string unit_symbols(Dimension dimension) {
  std::string symbols;
  for (const Unit& unit : kUnits) {
    if (unit.dimension == dimension)
      symbols += (symbols.empty() ? "" : ", ") + std::string(unit.symbol);
  }
  return symbols;
}

/// What a value of `dimension` looks like, for "expected ..." messages.
std::string expected_phrase(Dimension dimension) {
  constexpr std::pair<Dimension, std::string_view> kExamples[] = {
      {Dimension::time, "20 ms"},         {Dimension::voltage, "-50 mV"},
      {Dimension::conductance, "6 nS"},   {Dimension::current, "100 pA"},
      {Dimension::capacitance, "200 pF"}, {Dimension::frequency, "10 Hz"},
  };
  for (const auto& [candidate, example] : kExamples) {
    if (candidate == dimension) {
      return "a " + std::string(dimension_name(dimension)) + " with a unit, e.g. \"" +
             std::string(example) + "\"";
    }
  }
  return "a number without a unit";
}

std::string describe_json_kind(const json& value) {
  if (value.is_object()) return "an object";
  if (value.is_array()) return "an array";
  return value.dump();  // true, false, null
}

/// The shortest text that reads back as `x`: 0.1, 1e+308.
std::string format_number(double x) {
  char buffer[32];
  const auto result = std::to_chars(std::begin(buffer), std::end(buffer), x);
  return std::string(buffer, result.ptr);
}

// ASCII only: the C classification functions depend on the locale.
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_name_char(char c) {
  return is_name_start(c) || is_digit(c);
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && is_space(text.back()))
    text.remove_suffix(1);
  return text;
}

bool is_name(std::string_view text) {
  return !text.empty() && is_name_start(text.front()) &&
         std::all_of(text.begin(), text.end(), is_name_char);
}

struct Function {
  std::string_view name;
  std::size_t min_arguments;
  bool takes_more;  ///< accepts more than min_arguments
  double (*apply)(const std::vector<double>& arguments);
};

constexpr Function kFunctions[] = {
    {"sqrt", 1, false, [](const std::vector<double>& x) { return std::sqrt(x[0]); }},
    {"exp", 1, false, [](const std::vector<double>& x) { return std::exp(x[0]); }},
    {"log", 1, false, [](const std::vector<double>& x) { return std::log(x[0]); }},
    {"round", 1, false, [](const std::vector<double>& x) { return std::round(x[0]); }},
    {"floor", 1, false, [](const std::vector<double>& x) { return std::floor(x[0]); }},
    {"ceil", 1, false, [](const std::vector<double>& x) { return std::ceil(x[0]); }},
    {"min", 2, true,
     [](const std::vector<double>& x) { return *std::min_element(x.begin(), x.end()); }},
    {"max", 2, true,
     [](const std::vector<double>& x) { return *std::max_element(x.begin(), x.end()); }},
};

/// Where an expression's names get their values: a ParameterScope, or the "parameters" block
/// while it is being evaluated (where looking a name up may evaluate it first).
class Names {
 public:
  virtual bool defines(std::string_view name) const = 0;
  /// Only called for names that defines().
  virtual double value_of(std::string_view name) = 0;

 protected:
  ~Names() = default;
};

class ScopeNames final : public Names {
 public:
  explicit ScopeNames(const ParameterScope& scope) : scope_(scope) {}
  bool defines(std::string_view name) const override { return scope_.contains(name); }
  double value_of(std::string_view name) override { return scope_.find(name)->second; }

 private:
  const ParameterScope& scope_;
};

constexpr std::string_view kUnitInsideHint =
    "a unit may only follow the whole expression, as in \"(1 + 2) ms\"";

/// Recursive-descent evaluation of the grammar in quantity.h, one function per rule. Values are
/// computed while parsing: expressions are short and evaluated once.
class ExpressionParser {
 public:
  ExpressionParser(std::string_view text, Names& names) : text_(text), names_(names) {}

  double evaluate() {
    const double value = sum();
    skip_space();
    if (at_ < text_.size()) fail_expected("an operator or the end");
    return value;
  }

 private:
  /// `stage` is "parse" for syntax errors, "evaluate" for arithmetic ones.
  [[noreturn]] void fail(std::string_view stage, const std::string& what, std::size_t position,
                         std::string_view hint = {}) const {
    throw QuantityError("cannot " + std::string(stage) + " \"" + std::string(text_) +
                        "\": " + what + " at position " + std::to_string(position) +
                        (hint.empty() ? "" : "; ") + std::string(hint));
  }

  /// "expected X; found 'Y' at position P", quoting the whole name or UTF-8 character found.
  [[noreturn]] void fail_expected(std::string_view expected) const {
    std::string what = "expected " + std::string(expected);
    std::string_view hint;
    if (at_ < text_.size()) {
      const auto lead = static_cast<unsigned char>(text_[at_]);
      std::size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
      if (is_name_start(text_[at_])) {
        while (at_ + length < text_.size() && is_name_char(text_[at_ + length]))
          ++length;
      }
      const std::string_view found = text_.substr(at_, length);
      what += "; found '" + std::string(found) + "'";
      if (found == "^") hint = "powers are written **";
      if (find_unit(found) != nullptr) hint = kUnitInsideHint;
    }
    fail("parse", what, at_, hint);
  }

  void skip_space() {
    while (at_ < text_.size() && is_space(text_[at_]))
      ++at_;
  }

  bool accept(std::string_view symbol) {
    skip_space();
    if (text_.substr(at_, symbol.size()) != symbol) return false;
    at_ += symbol.size();
    return true;
  }

  /// After the contents of a parenthesis or an argument list.
  void expect_closing_parenthesis(std::string_view expected) {
    if (accept(")")) return;
    if (at_ == text_.size()) fail("parse", "missing ')'", at_);
    fail_expected(expected);
  }

  /// One arithmetic step, checked: no division by zero, no infinite or undefined result.
  double apply(std::string_view operation, double lhs, double rhs, std::size_t position) const {
    if (operation == "/" && rhs == 0) fail("evaluate", "division by zero", position);
    const double result = operation == "+"   ? lhs + rhs
                          : operation == "-" ? lhs - rhs
                          : operation == "*" ? lhs * rhs
                          : operation == "/" ? lhs / rhs
                                             : std::pow(lhs, rhs);
    if (!std::isfinite(result)) {
      fail("evaluate",
           format_number(lhs) + " " + std::string(operation) + " " + format_number(rhs) +
               " is not a finite number",
           position);
    }
    return result;
  }

  double sum() { return chain("+", "-", &ExpressionParser::product); }
  double product() { return chain("*", "/", &ExpressionParser::unary); }

  /// operand ((first | second) operand)*, left associative. power() consumes every "**" after
  /// an operand, so a '*' seen here is a product.
  double chain(std::string_view first, std::string_view second,
               double (ExpressionParser::*operand)()) {
    double value = (this->*operand)();
    while (true) {
      skip_space();
      const std::size_t position = at_;
      const std::string_view operation = accept(first) ? first : accept(second) ? second : "";
      if (operation.empty()) return value;
      value = apply(operation, value, (this->*operand)(), position);
    }
  }

  double unary() {
    if (accept("-")) return -unary();
    if (accept("+")) return unary();
    return power();
  }

  double power() {
    const double base = atom();
    skip_space();
    const std::size_t position = at_;
    if (accept("**")) return apply("**", base, unary(), position);
    return base;
  }

  double atom() {
    skip_space();
    if (accept("(")) {
      const double value = sum();
      expect_closing_parenthesis("an operator or ')'");
      return value;
    }
    if (at_ < text_.size() && (is_digit(text_[at_]) || text_[at_] == '.')) return number();
    if (at_ < text_.size() && is_name_start(text_[at_])) return name_or_call();
    fail_expected("a number, a name or '('");
  }

  double number() {
    const char* first = text_.data() + at_;
    double value = 0;
    const auto [end, error] = std::from_chars(first, text_.data() + text_.size(), value);
    if (error == std::errc::invalid_argument) fail("parse", "malformed number", at_);
    if (error == std::errc::result_out_of_range) {
      fail("evaluate", "the number " + std::string(first, end) + " is out of range", at_);
    }
    at_ += static_cast<std::size_t>(end - first);
    return value;
  }

  double name_or_call() {
    const std::size_t start = at_;
    while (at_ < text_.size() && is_name_char(text_[at_]))
      ++at_;
    const std::string_view name = text_.substr(start, at_ - start);
    if (accept("(")) return call(name, start);
    if (!names_.defines(name)) {
      throw QuantityError("unknown name '" + std::string(name) + "' in \"" + std::string(text_) +
                          "\"" + (find_unit(name) ? "; " + std::string(kUnitInsideHint) : ""));
    }
    const double value = names_.value_of(name);
    if (!std::isfinite(value)) {
      fail("evaluate", "'" + std::string(name) + "' is " + format_number(value), start);
    }
    return value;
  }

  /// `name(` has been read; `position` is where the name starts.
  double call(std::string_view name, std::size_t position) {
    const auto function = std::find_if(std::begin(kFunctions), std::end(kFunctions),
                                       [&](const Function& f) { return f.name == name; });
    if (function == std::end(kFunctions)) {
      std::string known;
      for (const Function& f : kFunctions)
        known += (known.empty() ? "" : ", ") + std::string(f.name);
      fail("parse",
           "unknown function '" + std::string(name) + "' (the functions are " + known + ")",
           position);
    }
    std::vector<double> arguments{sum()};
    while (accept(","))
      arguments.push_back(sum());
    expect_closing_parenthesis("',' or ')'");

    const std::size_t wanted = function->min_arguments;
    if (arguments.size() < wanted || (arguments.size() > wanted && !function->takes_more)) {
      fail("parse",
           std::string(name) + "() takes " + (function->takes_more ? "at least " : "") +
               std::to_string(wanted) + (wanted == 1 ? " argument" : " arguments") + "; found " +
               std::to_string(arguments.size()),
           position);
    }
    const double result = function->apply(arguments);
    if (!std::isfinite(result)) {  // only the one-argument functions can get here
      fail("evaluate",
           std::string(name) + "(" + format_number(arguments[0]) + ") is not a finite number",
           position);
    }
    return result;
  }

  std::string_view text_;
  Names& names_;
  std::size_t at_ = 0;
};

/// A quantity string cut before its last whitespace-separated word, which is the unit when it is
/// a unit symbol and not a name.
struct SplitQuantity {
  std::string_view text;
  std::string_view before_last_word;
  std::string_view last_word;
  const Unit* unit;  ///< null when the string has no unit
  /// The text without the unit, trimmed so that error positions count from its first character.
  std::string_view expression() const { return trim(unit != nullptr ? before_last_word : text); }
};

SplitQuantity split_unit(std::string_view text, const Names& names) {
  std::size_t end = text.size();
  while (end > 0 && is_space(text[end - 1]))
    --end;
  std::size_t start = end;
  while (start > 0 && !is_space(text[start - 1]))
    --start;
  const std::string_view last_word = text.substr(start, end - start);
  const Unit* unit = names.defines(last_word) ? nullptr : find_unit(last_word);
  return {text, text.substr(0, start), last_word, unit};
}

/// The error for a string without a unit where one is needed, with a hint for the usual causes.
QuantityError missing_unit_error(const SplitQuantity& split, const Names& names,
                                 Dimension expected) {
  const std::string found = "\"" + std::string(split.text) + "\"";
  std::string message = "expected " + expected_phrase(expected) + "; found " + found;
  const std::string_view word = split.last_word;
  if (is_name(word) && !names.defines(word) && !trim(split.before_last_word).empty()) {
    return QuantityError(message + ", and '" + std::string(word) + "' is not a unit (" +
                         std::string(dimension_name(expected)) +
                         " units: " + unit_symbols(expected) + ")");
  }
  message += " without a unit";
  // "20ms": a unit glued to the number before it.
  for (std::size_t cut = 1; cut < word.size(); ++cut) {
    if (find_unit(word.substr(cut)) && (is_digit(word[cut - 1]) || word[cut - 1] == ')')) {
      return QuantityError(message + " (write a space before the unit '" +
                           std::string(word.substr(cut)) + "')");
    }
  }
  return QuantityError(message);
}

double quantity_from_json(const json& value, Dimension expected, Names& names) {
  if (value.is_number()) {
    if (expected != Dimension::dimensionless) {
      throw QuantityError("expected " + expected_phrase(expected) + "; found the bare number " +
                          value.dump());
    }
    return value.get<double>();  // JSON has no infinities or NaNs
  }
  if (!value.is_string()) {
    throw QuantityError("expected " + expected_phrase(expected) + "; found " +
                        describe_json_kind(value));
  }
  const std::string text = value.get<std::string>();
  const SplitQuantity split = split_unit(text, names);
  if (split.unit == nullptr && expected != Dimension::dimensionless) {
    throw missing_unit_error(split, names, expected);
  }
  if (split.unit != nullptr && split.unit->dimension != expected) {
    throw QuantityError("expected " + expected_phrase(expected) + "; found \"" + text + "\", a " +
                        std::string(dimension_name(split.unit->dimension)));
  }
  if (split.unit != nullptr && split.expression().empty()) {
    throw QuantityError("expected " + expected_phrase(expected) + "; found \"" + text +
                        "\" with no number before the unit");
  }
  const double factor = split.unit != nullptr ? split.unit->factor : 1.0;
  const double converted = ExpressionParser(split.expression(), names).evaluate() * factor;
  if (!std::isfinite(converted)) {
    throw QuantityError("expected " + expected_phrase(expected) + "; found \"" + text +
                        "\", which is not a finite number of " +
                        std::string(canonical_unit(expected)));
  }
  return converted;
}

/// A parameter's error, already naming the parameter: passed on unchanged by the parameters
/// whose evaluation led to it.
class ParameterError : public QuantityError {
 public:
  using QuantityError::QuantityError;
};

/// The "parameters" block while it is evaluated: a parameter is evaluated when first used, so
/// parameters may refer to each other in any order.
class ParameterBlock final : public Names {
 public:
  ParameterBlock(const json& block, const std::map<std::string, std::string>& overrides) {
    if (!block.is_object()) {
      throw QuantityError("expected an object of named numbers, e.g. {\"N\": 1000}; found " +
                          describe_json_kind(block));
    }
    for (const auto& [name, value] : block.items()) {
      if (!is_name(name)) {
        throw ParameterError("parameter '" + name +
                             "': a name starts with a letter or '_' and holds only letters, "
                             "digits and '_'");
      }
      definitions_[name] = {value, false};
    }
    for (const auto& [name, text] : overrides) {
      const auto found = definitions_.find(name);
      if (found == definitions_.end()) throw unknown_override_error(name);
      found->second = {json(text), true};
    }
  }

  bool defines(std::string_view name) const override { return definitions_.contains(name); }
  double value_of(std::string_view name) override { return resolve(std::string(name)); }

  ParameterScope evaluate_all() {
    for (const auto& [name, unused] : definitions_)
      resolve(name);
    return scope_;
  }

 private:
  struct Definition {
    json value;
    bool from_command_line;
  };

  QuantityError unknown_override_error(const std::string& name) const {
    std::string defined;
    for (const auto& [known, unused] : definitions_)
      defined += (defined.empty() ? "" : ", ") + known;
    return QuantityError("unknown parameter '" + name + "' in --param; " +
                         (defined.empty() ? "the network defines no parameters"
                                          : "the network defines: " + defined));
  }

  double resolve(const std::string& name) {
    if (const auto done = scope_.find(name); done != scope_.end()) return done->second;
    if (const auto again = std::find(in_progress_.begin(), in_progress_.end(), name);
        again != in_progress_.end()) {
      std::string cycle;
      for (auto link = again; link != in_progress_.end(); ++link)
        cycle += *link + " -> ";
      throw ParameterError("parameter '" + name + "' is defined in terms of itself: " + cycle +
                           name);
    }
    const Definition& definition = definitions_.find(name)->second;
    const std::string label =
        "parameter '" + name + "'" + (definition.from_command_line ? " (from --param)" : "");
    in_progress_.push_back(name);
    try {
      scope_[name] = quantity_from_json(definition.value, Dimension::dimensionless, *this);
    } catch (const ParameterError&) {
      throw;
    } catch (const QuantityError& error) {
      throw ParameterError(label + ": " + error.what());
    }
    in_progress_.pop_back();
    return scope_[name];
  }

  std::map<std::string, Definition, std::less<>> definitions_;
  ParameterScope scope_;
  std::vector<std::string> in_progress_;  ///< the chain of parameters being evaluated
};

}  // namespace

double evaluate_expression(std::string_view text, const ParameterScope& scope) {
  ScopeNames names(scope);
  return ExpressionParser(text, names).evaluate();
}

double parse_quantity(const nlohmann::json& value, Dimension expected,
                      const ParameterScope& scope) {
  ScopeNames names(scope);
  return quantity_from_json(value, expected, names);
}

double unit_factor(std::string_view symbol, Dimension expected) {
  const std::string wanted = expected == Dimension::dimensionless
                                 ? "no unit"
                                 : "a unit of " + std::string(dimension_name(expected)) + " (" +
                                       unit_symbols(expected) + ")";
  const Unit* unit = find_unit(symbol);
  if (unit == nullptr) {
    throw QuantityError("expected " + wanted + "; found '" + std::string(symbol) +
                        "', which is not a unit");
  }
  if (unit->dimension != expected) {
    throw QuantityError("expected " + wanted + "; found '" + std::string(symbol) + "', a unit of " +
                        std::string(dimension_name(unit->dimension)));
  }
  return unit->factor;
}

ParameterScope evaluate_parameters(const nlohmann::json& block,
                                   const std::map<std::string, std::string>& overrides) {
  return ParameterBlock(block, overrides).evaluate_all();
}

double parse_quantity_text(const std::string& text, Dimension expected) {
  // Accept "1s" as well as "1 s": put a space between the number and a trailing unit.
  static const std::regex number_then_unit(R"(^\s*([-+0-9.eE]+)\s*([A-Za-zµ]+)\s*$)");
  std::smatch match;
  const std::string spaced = std::regex_match(text, match, number_then_unit)
                                 ? match[1].str() + " " + match[2].str()
                                 : text;
  return parse_quantity(nlohmann::json(spaced), expected, {});
}

}  // namespace snnsim
