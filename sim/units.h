#pragma once
// Physical dimensions of parameters, state variables and weights, and the canonical unit each is
// stored in. Every number inside the engine is in its dimension's canonical unit; conversion
// happens once, when a network file is read.
#include <cstdio>
#include <string>
#include <string_view>

namespace snnsim {

enum class Dimension { dimensionless, time, voltage, conductance, current, capacitance, frequency };

/// A number as messages and notes print it: six significant digits, no trailing zeros ("0.1",
/// "20000", "1e-06").
inline std::string message_number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}

/// "time", "voltage", ...
constexpr std::string_view dimension_name(Dimension dimension) {
  switch (dimension) {
    case Dimension::dimensionless:
      return "dimensionless number";
    case Dimension::time:
      return "time";
    case Dimension::voltage:
      return "voltage";
    case Dimension::conductance:
      return "conductance";
    case Dimension::current:
      return "current";
    case Dimension::capacitance:
      return "capacitance";
    case Dimension::frequency:
      return "frequency";
  }
  return "?";
}

/// The unit values of a dimension are stored in: ms, mV, nS, pA, pF, Hz ("" when dimensionless).
constexpr std::string_view canonical_unit(Dimension dimension) {
  switch (dimension) {
    case Dimension::dimensionless:
      return "";
    case Dimension::time:
      return "ms";
    case Dimension::voltage:
      return "mV";
    case Dimension::conductance:
      return "nS";
    case Dimension::current:
      return "pA";
    case Dimension::capacitance:
      return "pF";
    case Dimension::frequency:
      return "Hz";
  }
  return "";
}

}  // namespace snnsim
