// snnsim trace compare A.h5 B.h5: are two runs alike (statistics) or identical (--exact)?
// Exit status as diff's: 0 alike, 1 different, 2 for a bad command line or an unreadable trace.
#include "analysis/trace_compare.h"

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "tools/snnsim/cli_options.h"
#include "tools/snnsim/commands.h"
#include "tools/snnsim/number_format.h"
#include "tools/snnsim/read_progress.h"
#include "tools/snnsim/trace_commands.h"

namespace snnsim::cli {

namespace {

using namespace snnsim::analysis;

constexpr int kExitDifferent = 1;

constexpr const char* kUsage =
    "usage: snnsim trace compare A.h5 B.h5 [options]\n"
    "\n"
    "Compares two traces population by population (matched by name; docs/trace-analysis.md).\n"
    "Statistically by default: the mean firing rate and mean CV of inter-spike intervals must\n"
    "agree within --tolerance (relative), and the distributions over neurons of rates and CVs,\n"
    "and over sampled pairs of spike-count correlations, within --ks-threshold (Kolmogorov-\n"
    "Smirnov distance). Layer graphs: the firing rate of each timestep, and the distribution of\n"
    "the elements' rates. With --exact, every spike (step, neuron, sample, value) must be equal.\n"
    "A population in only one trace is a difference. Traces are read in blocks.\n"
    "\n"
    "Exit status: 0 alike, 1 different (what differs is printed), 2 bad command line or\n"
    "unreadable trace.\n";

std::string number(double value, const char* format = "%.4g") {
  char text[32];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

std::string describe(const TraceInfo& t) {
  if (t.kind == TraceKind::layer_graph) {
    return "layer graph, " + grouped(t.steps) + " timesteps x " + grouped(t.samples) +
           " samples, seed " + std::to_string(t.seed) + ", " + t.backend;
  }
  return "populations, " + number(t.covered_s() * 1e3, "%.6g") + " ms in steps of " +
         number(t.dt_s * 1e3, "%.6g") + " ms, seed " + std::to_string(t.seed) + ", " + t.backend +
         (t.complete ? "" : " (interrupted run)");
}

void print_statistics_table(const Comparison& c) {
  std::printf("\n%-16s %-14s %11s %11s %9s %7s %9s\n", "population", "measure", "A mean", "B mean",
              "rel diff", "KS D", "KS p");
  bool unjudged = false;
  for (const PopulationComparison& p : c.populations) {
    if (!p.in_a || !p.in_b) {
      std::printf("%-16s only in %s\n", p.name.c_str(), p.in_a ? "A" : "B");
      continue;
    }
    if (p.measures.empty()) {
      std::printf("%-16s (spikes %s)\n", p.name.c_str(),
                  p.differences.empty() ? "not recorded" : "recorded in one trace only");
      continue;
    }
    bool first = true;
    for (const Measure& m : p.measures) {
      unjudged = unjudged || (m.ks && !m.ks_judged);
      const std::string label = m.name + (m.unit == "Hz" ? " (Hz)" : "");
      std::printf("%-16s %-14s %11s %11s %9s %7s %9s  %s\n", first ? p.name.c_str() : "",
                  label.c_str(), m.count_a > 0 ? number(m.mean_a).c_str() : "-",
                  m.count_b > 0 ? number(m.mean_b).c_str() : "-",
                  m.difference ? (number(100 * *m.difference, "%.1f") + " %").c_str() : "-",
                  m.ks ? (number(m.ks->distance, "%.3f") + (m.ks_judged ? "" : "*")).c_str() : "-",
                  m.ks ? number(m.ks->p_value, "%.2g").c_str() : "-", m.alike ? "ok" : "DIFFERS");
      first = false;
    }
  }
  if (unjudged) {
    std::printf("* not judged: fewer than %zu values on a side\n", kKsMinimumValues);
  }
}

void print_exact_table(const Comparison& c) {
  std::printf("\n%-16s %14s %14s\n", "population", "spikes A", "spikes B");
  for (const PopulationComparison& p : c.populations) {
    if (!p.in_a || !p.in_b) {
      std::printf("%-16s only in %s\n", p.name.c_str(), p.in_a ? "A" : "B");
      continue;
    }
    std::printf("%-16s %14s %14s  %s\n", p.name.c_str(), grouped(p.spikes_a).c_str(),
                grouped(p.spikes_b).c_str(), p.differences.empty() ? "identical" : "DIFFERS");
  }
}

void print_table(const Comparison& c, const CompareOptions& options) {
  std::printf("A  %s: %s\nB  %s: %s\n", c.a.path.c_str(), describe(c.a).c_str(), c.b.path.c_str(),
              describe(c.b).c_str());
  if (c.exact) {
    std::printf("exact comparison: every spike must be equal\n");
  } else {
    std::printf("statistical comparison: tolerance %s %%, KS threshold %s, correlation bin %s ms\n",
                number(100 * options.tolerance, "%.3g").c_str(),
                number(options.ks_threshold, "%.3g").c_str(),
                number(options.bin_s * 1e3, "%.3g").c_str());
  }
  if (!c.populations.empty()) {
    if (c.exact) {
      print_exact_table(c);
    } else {
      print_statistics_table(c);
    }
  }
  if (c.alike()) {
    std::printf("\n%s\n", c.exact ? "identical" : "alike: within tolerance");
    return;
  }
  std::printf("\ndifferent:\n");
  for (const std::string& d : c.differences)
    std::printf("  %s\n", d.c_str());
}

nlohmann::json to_json(const Comparison& c, const CompareOptions& options) {
  nlohmann::json j;
  j["a"] = c.a.path;
  j["b"] = c.b.path;
  j["mode"] = c.exact ? "exact" : "statistical";
  if (!c.exact) {
    j["tolerance"] = options.tolerance;
    j["ks_threshold"] = options.ks_threshold;
    j["bin_s"] = options.bin_s;
  }
  j["alike"] = c.alike();
  j["differences"] = c.differences;
  j["populations"] = nlohmann::json::array();
  for (const PopulationComparison& p : c.populations) {
    nlohmann::json jp{
        {"name", p.name}, {"in_a", p.in_a}, {"in_b", p.in_b}, {"alike", p.differences.empty()}};
    if (p.in_a && p.in_b) {
      jp["size_a"] = p.size_a;
      jp["size_b"] = p.size_b;
      jp["spikes_a"] = p.spikes_a;
      jp["spikes_b"] = p.spikes_b;
    }
    for (const Measure& m : p.measures) {
      nlohmann::json jm{{"name", m.name},       {"unit", m.unit},     {"count_a", m.count_a},
                        {"count_b", m.count_b}, {"mean_a", m.mean_a}, {"mean_b", m.mean_b},
                        {"alike", m.alike}};
      if (m.difference) jm["difference"] = *m.difference;
      if (m.ks) {
        jm["ks_distance"] = m.ks->distance;
        jm["ks_p_value"] = m.ks->p_value;
        jm["ks_judged"] = m.ks_judged;
      }
      jp["measures"].push_back(jm);
    }
    jp["differences"] = p.differences;
    j["populations"].push_back(jp);
  }
  return j;
}

/// The options from the command line; throws (one line) for a bad --bin.
CompareOptions compare_options(const Arguments& a) {
  CompareOptions options;
  options.tolerance = a.tolerance;
  options.ks_threshold = a.ks_threshold;
  if (!a.bin.empty()) {
    options.bin_s = parse_command_line_quantity("bin", a.bin, Dimension::time) * 1e-3;
    if (!(options.bin_s > 0)) throw std::runtime_error("--bin must be positive");
  }
  options.populations = a.populations;
  options.from = a.from;
  options.to = a.to;
  return options;
}

}  // namespace

int trace_compare(int argc, const char* const* argv) {
  Arguments a;
  CompareOptions options;
  try {
    if (!parse_command_line(argc, argv, kUsage,
                            {OptionGroup::trace_compare, OptionGroup::trace_select}, a,
                            Positionals{"two trace files", 2, 2})) {
      return 0;
    }
    options = compare_options(a);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "snnsim trace compare: %s\n", error.what());
    return kExitUsage;
  }
  try {
    const TraceReader reader_a(a.files[0]), reader_b(a.files[1]);
    ReadProgress progress;
    options.progress = [&](std::uint64_t done, std::uint64_t total) {
      progress.update(done, total);
    };
    const Comparison c = a.exact ? compare_exact(reader_a, reader_b, options)
                                 : compare_statistics(reader_a, reader_b, options);
    progress.finish();
    if (a.json) {
      std::cout << to_json(c, options).dump(2) << "\n";
    } else {
      print_table(c, options);
    }
    return c.alike() ? 0 : kExitDifferent;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "snnsim trace compare: %s\n", error.what());
    return kExitUsage;
  }
}

}  // namespace snnsim::cli
