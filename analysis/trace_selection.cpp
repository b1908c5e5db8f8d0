#include "analysis/trace_selection.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <regex>
#include <stdexcept>

#include "networks/quantity.h"
#include "sim/one_line.h"

namespace snnsim::analysis {

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error(one_line(path + ": " + what));
}

/// The step of the spike at `position` of the population's list.
Step step_at(const TraceReader& reader, const std::string& population, std::uint64_t position) {
  Step step = 0;
  reader.for_each_spike_block(
      population, [&](const SpikeBlock& block) { step = block.steps[0]; }, 1, position,
      position + 1);
  return step;
}

/// One past the last step with a spike in any population: how far a killed run got.
std::uint64_t steps_from_spikes(const TraceReader& reader) {
  std::uint64_t steps = 0;
  for (const std::string& name : reader.population_names()) {
    const std::uint64_t count = reader.spike_count(name);
    if (count > 0) steps = std::max(steps, step_at(reader, name, count - 1) + 1);
  }
  return steps;
}

/// `seconds` as a step count: exact multiples of dt (up to rounding) are taken as they are, others
/// round up, so that the window holds the steps that start inside it.
Step to_step(double seconds, double dt_s) {
  const double steps = seconds / dt_s;
  const double nearest = std::round(steps);
  if (std::abs(steps - nearest) <= 1e-9 * std::max(1.0, nearest)) {
    return static_cast<Step>(nearest);
  }
  return static_cast<Step>(std::ceil(steps));
}

std::string format_bound(double value, TraceKind kind) {
  char text[64];
  if (kind == TraceKind::layer_graph) {
    std::snprintf(text, sizeof text, "timestep %.6g", value);
  } else {
    std::snprintf(text, sizeof text, "%.6g ms", value * 1e3);
  }
  return text;
}

/// The text of --from / --to in the trace's unit: seconds, or timesteps for layer graphs.
std::optional<double> parse_bound(const TraceInfo& info, const std::string& option,
                                  const std::string& text) {
  if (text.empty()) return std::nullopt;
  if (info.kind == TraceKind::layer_graph) {
    static const std::regex whole(R"(^\s*\d+\s*$)");
    if (!std::regex_match(text, whole)) {
      fail(info.path, "--" + option + " " + text +
                          ": expected a timestep (a whole number) for a layer-graph trace");
    }
    return std::stod(text);
  }
  try {
    return parse_quantity_text(text, Dimension::time) * 1e-3;  // ms -> s
  } catch (const QuantityError& error) {
    fail(info.path, "--" + option + " " + text + ": " + error.what());
  }
}

}  // namespace

const char* trace_kind_name(TraceKind kind) {
  return kind == TraceKind::layer_graph ? "layer_graph" : "population";
}

TraceInfo read_trace_info(const TraceReader& reader) {
  TraceInfo info;
  info.path = reader.path();
  info.kind = reader.layer_graph() ? TraceKind::layer_graph : TraceKind::population;
  info.dt_s = reader.attribute_double("dt");
  if (!(info.dt_s > 0)) fail(info.path, "attribute 'dt' is not positive");
  info.duration_s = reader.attribute_double("duration");
  info.seed = reader.attribute_uint("seed");
  info.version = reader.attribute_string("snnsim_version");
  info.backend = reader.attribute_string("backend");
  info.complete = reader.complete();
  if (info.kind == TraceKind::layer_graph) {
    info.steps = reader.attribute_uint("timesteps");
    info.samples = reader.attribute_uint("samples");
  } else {
    info.steps = reader.attribute_uint("steps_completed");
    if (info.steps == 0 && !info.complete) info.steps = steps_from_spikes(reader);
  }
  return info;
}

namespace {

/// `names` (HDF5 lists groups alphabetically) in the order the network file declares them: its
/// populations, or a layer graph's nodes (input to output), as the trace's `network` attribute
/// holds the file. Names the file does not list keep their place after those it does.
std::vector<std::string> in_network_order(const TraceReader& reader,
                                          std::vector<std::string> names) {
  if (!reader.has_attribute("network")) return names;
  const nlohmann::json network =
      nlohmann::json::parse(reader.attribute_string("network"), nullptr, false);
  std::vector<std::string> declared;
  for (const char* key : {"populations", "nodes"}) {
    if (!network.is_object() || !network.contains(key) || !network[key].is_array()) continue;
    for (const nlohmann::json& entry : network[key]) {
      if (entry.is_object() && entry.contains("name") && entry["name"].is_string())
        declared.push_back(entry["name"].get<std::string>());
    }
  }
  const auto rank = [&](const std::string& name) {
    return std::find(declared.begin(), declared.end(), name) - declared.begin();
  };
  std::stable_sort(names.begin(), names.end(),
                   [&](const std::string& a, const std::string& b) { return rank(a) < rank(b); });
  return names;
}

}  // namespace

std::vector<PopulationInfo> select_populations(const TraceReader& reader,
                                               const std::vector<std::string>& names) {
  const std::vector<std::string> all = reader.population_names();
  std::vector<std::string> chosen;
  for (const std::string& name : names) {
    if (std::find(all.begin(), all.end(), name) == all.end()) {
      std::string list;
      for (const std::string& existing : all)
        list += (list.empty() ? "" : ", ") + existing;
      fail(reader.path(), "no population '" + name + "'; it has " + (list.empty() ? "none" : list));
    }
    if (std::find(chosen.begin(), chosen.end(), name) == chosen.end()) chosen.push_back(name);
  }
  if (names.empty()) chosen = in_network_order(reader, all);

  std::vector<PopulationInfo> populations;
  for (const std::string& name : chosen) {
    PopulationInfo p;
    p.name = name;
    p.size = reader.population_size(name);
    p.has_spikes = reader.has_spikes(name);
    p.spikes = p.has_spikes ? reader.spike_count(name) : 0;
    if (reader.has_population_attribute(name, "op")) {
      p.op = reader.population_attribute_string(name, "op");
    }
    if (reader.has_population_attribute(name, "shape")) {
      p.shape = reader.population_attribute_uints(name, "shape");
    }
    populations.push_back(std::move(p));
  }
  return populations;
}

namespace {

std::uint64_t physical_memory() {
  const long pages = sysconf(_SC_PHYS_PAGES), page_bytes = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page_bytes > 0
             ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page_bytes)
             : ~std::uint64_t{0};
}

std::atomic<std::uint64_t> analysis_memory_limit{physical_memory()};

/// "12.3 GB", as the memory refusal names sizes.
std::string gigabytes(double bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g GB", bytes / 1e9);
  return text;
}

}  // namespace

void set_analysis_memory_limit(std::uint64_t bytes) {
  analysis_memory_limit = bytes;
}

void check_table_memory(const TraceInfo& info, std::uint64_t count, std::uint64_t bytes_each,
                        const std::string& table) {
  const std::uint64_t limit = analysis_memory_limit;
  if (bytes_each == 0 || count <= limit / bytes_each) return;
  fail(info.path, table + " (" + std::to_string(count) + " entries) would need " +
                      gigabytes(static_cast<double>(count) * static_cast<double>(bytes_each)) +
                      " of memory, more than the " + gigabytes(static_cast<double>(limit)) +
                      " available");
}

StepWindow window_of(const TraceInfo& info, std::optional<double> from, std::optional<double> to) {
  if (info.steps == 0) {
    fail(info.path, "the trace holds no simulated step (a run killed before its first flush?)");
  }
  const double end = info.covered_s();
  if (from && !(*from >= 0)) fail(info.path, "--from must not be negative");
  if (from && *from >= end) {
    fail(info.path, "--from " + format_bound(*from, info.kind) + " is at or past the end of the " +
                        "trace (" + format_bound(end, info.kind) + ")");
  }
  if (to && *to > end * (1 + 1e-12)) {
    fail(info.path, "--to " + format_bound(*to, info.kind) + " is past the end of the trace (" +
                        format_bound(end, info.kind) + ")");
  }
  if (from && to && !(*from < *to)) {
    fail(info.path, "--from " + format_bound(*from, info.kind) + " is not before --to " +
                        format_bound(*to, info.kind));
  }
  StepWindow window{0, info.steps};
  if (from) window.first = std::min(to_step(*from, info.dt_s), info.steps);
  if (to) window.last = std::min(to_step(*to, info.dt_s), info.steps);
  if (window.last <= window.first) {
    fail(info.path, "the window from " + format_bound(from.value_or(0), info.kind) + " to " +
                        format_bound(to.value_or(end), info.kind) + " holds no whole time step");
  }
  return window;
}

StepWindow window_from_options(const TraceInfo& info, const std::string& from,
                               const std::string& to) {
  return window_of(info, parse_bound(info, "from", from), parse_bound(info, "to", to));
}

SpikeRange spike_range(const TraceReader& reader, const TraceInfo& info,
                       const PopulationInfo& population, const StepWindow& window) {
  if (!population.has_spikes) return {};
  if (info.kind == TraceKind::layer_graph) return {0, population.spikes};
  // The first position whose step is at least `step`, by bisection over the time-ordered list.
  const auto lower_bound = [&](Step step) {
    std::uint64_t low = 0, high = population.spikes;
    while (low < high) {
      const std::uint64_t middle = low + (high - low) / 2;
      if (step_at(reader, population.name, middle) < step) {
        low = middle + 1;
      } else {
        high = middle;
      }
    }
    return low;
  };
  const std::uint64_t first = window.first == 0 ? 0 : lower_bound(window.first);
  const std::uint64_t last =
      window.last >= info.steps ? population.spikes : lower_bound(window.last);
  return {first, std::max(first, last)};
}

}  // namespace snnsim::analysis
