#pragma once
// Weights, parameters and samples read from files must be finite: a NaN or an infinity read from
// a tensor would spread through a whole run and print "-nan" instead of failing.
#include <cmath>
#include <cstddef>
#include <sstream>
#include <string>

namespace snnsim {

/// Empty when every value is finite; else what is wrong with the first that is not, for a
/// message ("expected finite values; element 17 is nan").
template <class Values>
std::string non_finite_problem(const Values& values) {
  std::size_t index = 0;
  for (const auto value : values) {
    if (!std::isfinite(value)) {
      std::ostringstream problem;
      problem << "expected finite values; element " << index << " is " << value;
      return problem.str();
    }
    ++index;
  }
  return {};
}

}  // namespace snnsim
