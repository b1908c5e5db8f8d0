#include "analysis/trace_summary.h"

namespace snnsim::analysis {

namespace {

using json = nlohmann::ordered_json;

json optional_json(const std::optional<double>& value) {
  return value ? json(*value) : json(nullptr);
}

std::optional<double> layer_count(const TraceReader& reader, const std::string& layer,
                                  const char* name) {
  if (!reader.has_population_attribute(layer, name)) return std::nullopt;
  return reader.population_attribute_double(layer, name);
}

/// Streams one population's spikes of `range` (checked by the reader) into `add`.
template <class Add>
void stream(const TraceReader& reader, const PopulationInfo& population, const SpikeRange& range,
            std::uint64_t& done, std::uint64_t total, const SummaryProgress& progress, Add add) {
  reader.for_each_spike_block(
      population.name,
      [&](const SpikeBlock& block) {
        add(block);
        done += block.steps.size();
        if (progress) progress(done, total);
      },
      std::size_t{1} << 20, range.first, range.last);
}

json distribution_json(const Distribution& d) {
  return {{"mean", d.mean},     {"sd", d.sd},   {"min", d.min}, {"p5", d.p5},  {"p25", d.p25},
          {"median", d.median}, {"p75", d.p75}, {"p95", d.p95}, {"max", d.max}};
}

json population_json(const PopulationSummary& p) {
  json out = {{"name", p.population.name},
              {"neurons", p.population.size},
              {"spikes_recorded", p.population.has_spikes}};
  if (!p.spikes) return out;
  const SpikeStatistics& s = *p.spikes;
  out["spikes"] = s.spikes;
  out["rate_hz"] = distribution_json(s.rate_hz);
  out["silent_fraction"] = s.silent_fraction;
  out["cv_isi"] = {{"mean", optional_json(s.cv_mean)},
                   {"median", optional_json(s.cv_median)},
                   {"neurons", s.cv_neurons}};
  out["bins"] = s.bins;
  out["fano"] = {{"mean", optional_json(s.fano_mean)}, {"neurons", s.fano_neurons}};
  out["correlation"] = {{"mean", optional_json(s.correlation_mean)},
                        {"pairs", s.correlation_pairs},
                        {"sampled_neurons", s.correlation_neurons}};
  out["synchrony_chi2"] = optional_json(s.synchrony_chi2);
  return out;
}

json layer_json(const PopulationSummary& p) {
  const LayerSummary& l = *p.layer;
  json out = {{"name", p.population.name},   {"op", p.population.op},
              {"shape", p.population.shape}, {"elements", p.population.size},
              {"spiking", l.spiking},        {"spikes", l.activity.spikes}};
  out["firing_rate"] = l.spiking ? json(l.activity.firing_rate) : json(nullptr);
  out["timestep_firing_rates"] = l.spiking ? json(l.activity.timestep_rates) : json(nullptr);
  out["silent_fraction"] = l.spiking ? json(l.activity.silent_fraction) : json(nullptr);
  out["acs"] = optional_json(l.acs);
  out["macs"] = optional_json(l.macs);
  out["energy_pj"] = optional_json(l.energy_pj);
  return out;
}

}  // namespace

Summary summarize(const TraceReader& reader, const TraceInfo& info,
                  const std::vector<PopulationInfo>& populations, const StepWindow& window,
                  Step bin_steps, const SummaryProgress& progress) {
  Summary summary{info, window, bin_steps, {}};
  std::vector<SpikeRange> ranges;
  std::uint64_t total = 0, done = 0;
  for (const PopulationInfo& p : populations) {
    ranges.push_back(spike_range(reader, info, p, window));
    total += ranges.back().last - ranges.back().first;
  }
  for (std::size_t i = 0; i < populations.size(); ++i) {
    const PopulationInfo& p = populations[i];
    PopulationSummary out{p, std::nullopt, std::nullopt};
    if (info.kind == TraceKind::layer_graph) {
      LayerSummary layer;
      layer.spiking = p.spikes > 0;
      LayerActivityAccumulator activity(p.size, info.samples, window);
      if (p.has_spikes) {
        stream(reader, p, ranges[i], done, total, progress,
               [&](const SpikeBlock& b) { activity.add(b.steps, b.indices); });
      }
      layer.activity = activity.finish();
      layer.acs = layer_count(reader, p.name, "acs");
      layer.macs = layer_count(reader, p.name, "macs");
      layer.energy_pj = layer_count(reader, p.name, "energy_pj");
      summary.total_acs += layer.acs.value_or(0);
      summary.total_macs += layer.macs.value_or(0);
      summary.total_energy_pj += layer.energy_pj.value_or(0);
      out.layer = std::move(layer);
    } else if (p.has_spikes) {
      check_table_memory(info, p.size, SpikeStatisticsAccumulator::kBytesPerNeuron,
                         "the statistics of population '" + p.name + "'");
      SpikeStatisticsAccumulator statistics(p.size, window, info.dt_s, bin_steps);
      stream(reader, p, ranges[i], done, total, progress,
             [&](const SpikeBlock& b) { statistics.add(b.steps, b.indices); });
      out.spikes = statistics.finish();
    }
    summary.populations.push_back(std::move(out));
  }
  return summary;
}

nlohmann::ordered_json summary_json(const Summary& summary) {
  const TraceInfo& t = summary.trace;
  const bool layers = t.kind == TraceKind::layer_graph;
  json trace = {{"path", t.path},        {"kind", trace_kind_name(t.kind)},
                {"dt_s", t.dt_s},        {"duration_s", t.duration_s},
                {"steps", t.steps},      {"seed", t.seed},
                {"version", t.version},  {"backend", t.backend},
                {"complete", t.complete}};
  if (layers) trace["samples"] = t.samples;
  json out = {{"trace", trace},
              {"window",
               {{"first_step", summary.window.first},
                {"last_step", summary.window.last},
                {"from_s", static_cast<double>(summary.window.first) * t.dt_s},
                {"to_s", static_cast<double>(summary.window.last) * t.dt_s}}}};
  json list = json::array();
  std::uint64_t spikes = 0;
  for (const PopulationSummary& p : summary.populations) {
    list.push_back(layers ? layer_json(p) : population_json(p));
    if (p.layer) spikes += p.layer->activity.spikes;
  }
  if (layers) {
    out["layers"] = std::move(list);
    out["totals"] = {{"spikes", spikes},
                     {"acs", summary.total_acs},
                     {"macs", summary.total_macs},
                     {"energy_pj", summary.total_energy_pj}};
  } else {
    out["bin_s"] = static_cast<double>(summary.bin_steps) * t.dt_s;
    out["populations"] = std::move(list);
  }
  return out;
}

}  // namespace snnsim::analysis
