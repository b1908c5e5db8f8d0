#include "export/nir_export.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "networks/layer_graph_file.h"

namespace snnsim {

namespace nir_export_detail {

std::string Problem::line() const {
  return element + ": " + what + "; " +
         (approximation.empty() ? "--approximate cannot help" : "--approximate: " + approximation);
}

std::string node_name(const std::string& name, std::vector<std::string>& taken) {
  std::string safe = name;
  for (char& c : safe) {
    const bool kept = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-';
    if (!kept) c = '_';
  }
  if (safe.empty()) safe = "node";
  std::string unique = safe;
  for (int k = 2; std::find(taken.begin(), taken.end(), unique) != taken.end(); ++k) {
    unique = safe + "_" + std::to_string(k);
  }
  taken.push_back(unique);
  return unique;
}

nir::Array filled64(std::size_t size, double value, std::vector<std::size_t> shape) {
  if (shape.empty()) shape = {size};
  return {nir::Array::Type::float64, std::move(shape), std::vector<double>(size, value)};
}

nir::Array scalar64(double value) {
  return {nir::Array::Type::float64, {}, {value}};
}

nir::Array pair64(std::size_t a, std::size_t b) {
  return nir::Array::integers({static_cast<std::int64_t>(a), static_cast<std::int64_t>(b)});
}

}  // namespace nir_export_detail

namespace {

using namespace nir_export_detail;

/// A sort key for "populations/2 'E' (...)": problems sort by element, those of one element
/// together, in the order of the network file.
std::pair<int, long> element_key(const std::string& element) {
  const auto slash = element.find('/');
  const std::string section = element.substr(0, slash);
  const int rank = section == "populations" || section == "input"   ? 0
                   : section == "projections" || section == "nodes" ? 1
                   : section == "inputs"                            ? 2
                                                                    : 3;
  if (slash == std::string::npos) return {rank, -1};
  return {rank, std::strtol(element.c_str() + slash + 1, nullptr, 10)};
}

Translation translate(const std::filesystem::path& network_file, const LoadOptions& load,
                      const NirExportOptions& options, bool build_graph) {
  Translation t = is_layer_graph_file(network_file)
                      ? translate_layer_graph(network_file, options)
                      : translate_population_network(network_file, load, options, build_graph);
  std::stable_sort(t.problems.begin(), t.problems.end(), [](const Problem& a, const Problem& b) {
    return element_key(a.element) < element_key(b.element);
  });
  return t;
}

}  // namespace

std::vector<std::string> nir_export_problems(const std::filesystem::path& network_file,
                                             const LoadOptions& load,
                                             const NirExportOptions& options) {
  std::vector<std::string> lines;
  for (const Problem& p : translate(network_file, load, options, false).problems) {
    lines.push_back(p.line());
  }
  return lines;
}

NirExport export_nir(const std::filesystem::path& network_file, const LoadOptions& load,
                     const NirExportOptions& options) {
  Translation t = translate(network_file, load, options, true);
  const auto refused = std::count_if(t.problems.begin(), t.problems.end(), [&](const Problem& p) {
    return !options.approximate || p.approximation.empty();
  });
  if (refused > 0) {
    const auto approximable =
        std::count_if(t.problems.begin(), t.problems.end(),
                      [](const Problem& p) { return !p.approximation.empty(); });
    std::string message = network_file.string() + ": NIR cannot express " +
                          std::to_string(t.problems.size()) + " element" +
                          (t.problems.size() == 1 ? "" : "s") + " of this network (" +
                          std::to_string(approximable) + " of them --approximate can approximate):";
    for (const Problem& p : t.problems)
      message += "\n  " + p.line();
    throw NirExportError(message);
  }
  for (const Problem& p : t.problems) {
    t.result.approximations.push_back(p.element + ": " + p.what +
                                      "; approximated: " + p.approximation);
  }
  return std::move(t.result);
}

}  // namespace snnsim
