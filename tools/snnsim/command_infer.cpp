// snnsim infer MODEL.json --input FILE: run a layer-graph SNN on samples, print predictions,
// per-layer firing rates, synaptic operations, the energy estimate and throughput.
#include <malloc.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

#include "encoders/sample_file.h"
#include "networks/layer_graph_file.h"
#include "networks/npy.h"
#include "sim/atomic_write.h"
#include "sim/graph/graph_executor.h"
#include "sim/graph/models/trevsnn.h"
#include "sim/graph/ops/token_pruning.h"
#include "sim/graph/ops/transformer.h"
#include "sim/limits.h"
#include "sim/trace_writer.h"
#include "tools/snnsim/cli_options.h"
#include "tools/snnsim/commands.h"
#include "tools/snnsim/memory_use.h"
#include "tools/snnsim/network_argument.h"
#include "tools/snnsim/number_format.h"
#include "tools/snnsim/output_paths.h"

namespace snnsim::cli {
namespace {

constexpr const char* kUsage =
    "usage: snnsim infer MODEL.json|MODEL.nir --input FILE [options]\n"
    "\n"
    "Runs a layer-graph SNN (\"kind\": \"layer_graph\", docs/network-format.md) on the samples of\n"
    "FILE (.npy, FILE.h5:DATASET, .pgm/.ppm/.png, or an event recording) over T timesteps\n"
    "and prints the top predictions per sample (the output layer's mean over timesteps),\n"
    "per-layer firing rates, synaptic operations (ACs), multiply-accumulates (MACs), the\n"
    "energy estimate, each layer's share of the time and samples/s (a convolution that alone\n"
    "feeds LIF or binary threshold neurons runs fused with them: its time includes theirs).\n"
    "With -o, per-layer spikes go to an HDF5 trace; with --save-outputs, the output layer's\n"
    "values to an .npy file.\n"
    "MODEL.nir: a NIR graph is imported as a layer graph first (snnsim import nir --help).\n"
    "--backend cuda runs the model on an NVIDIA GPU (docs/cuda.md); the counts stay those of\n"
    "the event-driven model.\n"
    "\n"
    "example: snnsim infer examples/conv-snn.json --input examples/data/conv-snn-input.npy -o "
    "t.h5\n";

/// Per-layer totals over all batches.
struct LayerTotals {
  NodeReport report;
  double slots = 0.0;  ///< features x timesteps x samples
};

std::unique_ptr<TraceWriter> open_graph_trace(const std::string& path, const LayerGraphSpec& spec,
                                              std::size_t samples, int threads,
                                              std::string_view backend,
                                              const std::vector<std::size_t>& recorded) {
  TraceMetadata metadata;
  metadata.dt_s = 1.0;  // one timestep; layer graphs have no physical time step
  metadata.duration_s = static_cast<double>(spec.graph->timesteps());
  metadata.seed = spec.encoder.seed;
  std::ifstream in(spec.path);
  metadata.network_json.assign(std::istreambuf_iterator<char>(in), {});
  metadata.network_path = spec.path;
  metadata.backend = std::string(backend);
  metadata.threads = threads;
  metadata.timesteps = spec.graph->timesteps();
  metadata.samples = samples;
  // Population k is the node a run reports k-th (GraphRun), so write_graph_spikes and the
  // per-layer attributes file everything under the node's own name.
  std::vector<TracePopulationSpec> layers;
  for (const NodeReport& report : spec.graph->blank_run().nodes) {
    const GraphNode& node = spec.graph->nodes()[report.node];
    layers.push_back({node.name,
                      static_cast<NeuronIndex>(element_count(node.shape)),
                      true,
                      {},
                      true,
                      true,
                      std::string(node.op->kind()),
                      std::vector<std::uint32_t>(node.shape.begin(), node.shape.end()),
                      {}});
    if (const auto* select = dynamic_cast<const TokenSelect*>(node.op.get())) {
      layers.back().token_indices.assign(select->indices().begin(), select->indices().end());
    }
    if (std::find(recorded.begin(), recorded.end(), report.node) != recorded.end()) {
      StateProbeSpec probe;
      probe.variable = "value";
      probe.neurons.resize(element_count(node.shape));
      std::iota(probe.neurons.begin(), probe.neurons.end(), NeuronIndex{0});
      layers.back().probes.push_back(std::move(probe));
    }
  }
  return std::make_unique<TraceWriter>(path, metadata, std::move(layers));
}

/// `run`'s spikes, node k's to population k (open_graph_trace).
void write_graph_spikes(TraceWriter& trace, const GraphRun& run, std::size_t first_sample) {
  std::vector<float> values;
  for (std::size_t n = 0; n < run.nodes.size(); ++n) {
    if (!run.spike_values[n].is_spikes()) continue;
    const SpikeTrain& s = *run.spike_values[n].spikes;
    for (std::size_t f = 0; f < s.frames(); ++f) {
      values.clear();
      for (std::uint64_t k = s.offsets[f]; k < s.offsets[f + 1]; ++k)
        values.push_back(static_cast<float>(s.level(k)) * s.scale(f / s.batch));
      trace.append_spikes(n, f / s.batch, s.frame_indices(f),
                          static_cast<std::uint32_t>(first_sample + f % s.batch), values);
    }
  }
}

/// --record: the values `run` kept of the nodes `recorded`, one row per sample and timestep the
/// node ran, sample-major (row s * steps + t).
void write_graph_states(TraceWriter& trace, const GraphRun& run,
                        const std::vector<std::size_t>& recorded, std::size_t first_sample) {
  for (std::size_t node : recorded) {
    const Value& kept = run.kept_values[node - 1];
    const std::vector<float> values = kept.densified();
    const std::size_t n = kept.features();
    for (std::size_t b = 0; b < kept.batch; ++b) {
      for (std::size_t t = 0; t < kept.steps; ++t) {
        trace.append_state(node - 1, 0, (first_sample + b) * kept.steps + t,
                           std::span(values).subspan((t * kept.batch + b) * n, n));
      }
    }
  }
}

/// Refuses a batch whose values at some node, T (1 when the graph runs step by step) x batch x
/// the node's elements, exceed limits::kBatchValues, before anything is allocated for it.
void check_batch_size(const LayerGraph& graph, std::size_t batch, std::size_t requested) {
  const std::size_t steps = graph.runs_step_by_step() ? 1 : graph.timesteps();
  for (const GraphNode& node : graph.nodes()) {
    const std::uint64_t elements = element_count(node.shape);
    if (limits::product_exceeds({steps, batch, elements}, limits::kBatchValues)) {
      throw std::runtime_error(
          "--batch " + std::to_string(requested) + ": node " + node.name + " would hold " +
          std::to_string(steps) + " timestep(s) x " + std::to_string(batch) + " samples x " +
          std::to_string(elements) + " values, more than the limit of " +
          limits::power_of_two(limits::kBatchValues) + "; use a smaller --batch");
    }
  }
}

/// The class labels of `path` (.npy), one per sample, each a whole number in [0, classes).
std::vector<long> read_labels(const std::string& path, std::size_t samples, std::size_t classes) {
  const NpyArray array = read_npy(path);
  if (array.values.size() != samples) {
    throw std::runtime_error(path + ": expected " + std::to_string(samples) +
                             " labels, one per sample; found " +
                             std::to_string(array.values.size()));
  }
  std::vector<long> labels;
  for (const float label : array.values) {
    if (!(label >= 0 && label < static_cast<float>(classes) && label == std::floor(label))) {
      std::ostringstream message;
      message << path << ": label " << labels.size() << " is " << label
              << "; expected a class, a whole number from 0 to " << classes - 1
              << " (the output has " << classes << " values)";
      throw std::runtime_error(message.str());
    }
    labels.push_back(static_cast<long>(label));
  }
  return labels;
}

/// --per-step: each spiking layer's firing rate at every timestep.
void print_rates_per_step(const LayerGraph& graph, const std::vector<LayerTotals>& totals,
                          std::size_t samples) {
  const std::size_t steps = graph.timesteps();
  std::printf("\n  firing rate per timestep\n  %-24s", "layer");
  for (std::size_t s = 0; s < steps; ++s)
    std::printf(" %7zu", s);
  std::printf("\n");
  for (const LayerTotals& t : totals) {
    // A delay's spikes are its source's of the step before.
    if (!t.report.spiking || graph.nodes()[t.report.node].op->is_delay()) continue;
    std::printf("  %-24s", t.report.name.c_str());
    const double slots = static_cast<double>(element_count(t.report.shape)) * samples;
    for (std::size_t s = 0; s < steps; ++s) {
      if (graph.nodes()[t.report.node].computes_at(s, steps) && s < t.report.per_step.size())
        std::printf(" %6.2f%%", 100.0 * t.report.per_step[s] / slots);
      else
        std::printf(" %7s", "-");
    }
    std::printf("\n");
  }
}

}  // namespace

int command_infer(int argc, const char* const* argv) {
  Arguments a;
  try {
    if (!parse_command_line(argc, argv, kUsage,
                            {OptionGroup::infer, OptionGroup::energy, OptionGroup::output,
                             OptionGroup::nir_time_step},
                            a)) {
      return 0;
    }
    if (a.input.empty()) throw std::runtime_error("missing --input FILE.npy (see --help)");
    if (!a.records.empty() && a.output.empty())
      throw std::runtime_error("--record: needs a trace to write to, -o TRACE.h5");
    if (a.outputs_per_timestep && a.save_outputs.empty()) {
      throw std::runtime_error("--outputs-per-timestep: needs --save-outputs FILE.npy");
    }
    if (a.timesteps > limits::kTimesteps) {
      throw std::runtime_error("-T " + std::to_string(a.timesteps) + ": expected at most " +
                               limits::power_of_two(limits::kTimesteps) + " timesteps");
    }
    parse_backend(a.backend);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "snnsim infer: %s\n", error.what());
    return kExitUsage;
  }
  try {
    if (a.threads > 0) omp_set_num_threads(a.threads);
    LayerGraphOptions options;
    if (a.timesteps > 0) options.timesteps = a.timesteps;
    const NetworkArgument file(a, NirImportKind::layer_graph);
    const LayerGraphSpec spec = load_layer_graph_file(file.path(), options);
    const LayerGraph& graph = *spec.graph;
    const Shape& input_shape = graph.input_shape();
    std::vector<InputFile> inputs = network_inputs(spec);
    inputs.insert(inputs.end(), {{a.network, "the network file"},
                                 {a.input, "the input samples"},
                                 {a.labels, "the labels"}});
    refuse_output_over_inputs("-o", a.output, inputs);
    refuse_output_over_inputs("--summary-json", a.summary_json, inputs);
    refuse_output_over_inputs("--save-outputs", a.save_outputs, inputs);
    const SampleFile input = read_samples(a.input, input_shape, graph.timesteps(), spec.encoder);
    const std::size_t samples = input.count;
    check_batch_size(graph, std::min(a.batch, samples), a.batch);
    if (a.check_reversible && spec.model != "trevsnn") {
      throw std::runtime_error(
          "--check-reversible: " + a.network +
          " is not a T-RevSNN (\"model\": \"trevsnn\"); only its columns invert");
    }
    // --check-reversible: per column t = 0 .. T - 2, the largest relative error of each level.
    std::vector<std::array<double, 4>> inversion(a.check_reversible ? graph.timesteps() - 1 : 0);
    std::string not_reversible;  ///< why the columns do not invert (an alpha of 0)
    double check_seconds = 0.0;  ///< not counted in the run's time
    const std::vector<long> labels =
        a.labels.empty() ? std::vector<long>{}
                         : read_labels(a.labels, samples, element_count(graph.output().shape));
    std::vector<std::size_t> recorded;
    for (const std::string& name : a.records) {
      const int node = graph.find(name);
      if (node <= 0) {
        throw std::runtime_error("--record " + name + ": " + a.network + " has no node called '" +
                                 name + "'");
      }
      recorded.push_back(static_cast<std::size_t>(node));
    }
    // The tokens a pruning node keeps go into every trace (one row per sample).
    std::vector<std::size_t> pruning;
    for (std::size_t n = 1; n < graph.nodes().size(); ++n) {
      if (dynamic_cast<const TopTokens*>(graph.nodes()[n].op.get()) == nullptr) continue;
      pruning.push_back(n);
      if (!a.output.empty() && std::find(recorded.begin(), recorded.end(), n) == recorded.end())
        recorded.push_back(n);
    }
    const std::unique_ptr<GraphExecutor> executor =
        make_graph_executor(parse_backend(a.backend), graph, a.dense);
    std::unique_ptr<TraceWriter> trace;
    if (!a.output.empty()) {
      trace = open_graph_trace(a.output, spec, samples, omp_get_max_threads(), executor->name(),
                               recorded);
    }

    // Values per sample in the input file: one per feature, or per feature and timestep.
    const std::size_t features =
        element_count(input_shape) * (encodes_sequences(spec.encoder.kind) ? graph.timesteps() : 1);
    const std::size_t out_features = element_count(graph.output().shape);
    const std::size_t timesteps = graph.timesteps();
    // The timesteps the output has (1 for a readout at the last one).
    const std::size_t output_steps = graph.output_steps();
    std::vector<float> outputs(samples * out_features, 0.0f);  // mean over timesteps
    // --outputs-per-timestep: [sample][timestep][feature], as --save-outputs writes them.
    std::vector<float> step_outputs(a.outputs_per_timestep ? samples * output_steps * out_features
                                                           : 0);
    std::vector<LayerTotals> totals;
    // The model's memory, then the peak while it runs: what T-RevSNN's O(1) claim is about.
    // Loading's temporaries go back to the system first, so that the model's figure is its own.
    malloc_trim(0);
    const double model_mb = resident_mb();
    const bool peak_reset = reset_peak_resident();
    const auto start = std::chrono::steady_clock::now();
    const std::size_t batches = (samples + a.batch - 1) / a.batch;
    for (std::size_t first = 0; first < samples; first += a.batch) {
      const std::size_t batch = std::min(a.batch, samples - first);
      const Value x =
          encode_input(spec.encoder, input_shape, std::span(input.values).subspan(first * features),
                       batch, first, graph.constant_input() ? 1 : timesteps);
      const GraphRun run = executor->run(x, trace != nullptr, recorded);
      const std::vector<float> out = run.output.densified();
      for (std::size_t f = 0; f < output_steps * batch; ++f) {
        const std::size_t sample = first + f % batch;
        for (std::size_t k = 0; k < out_features; ++k)
          outputs[sample * out_features + k] +=
              out[f * out_features + k] / static_cast<float>(output_steps);
        if (a.outputs_per_timestep) {
          std::copy_n(out.begin() + f * out_features, out_features,
                      step_outputs.begin() + (sample * output_steps + f / batch) * out_features);
        }
      }
      if (totals.empty()) totals.resize(run.nodes.size());
      for (std::size_t n = 0; n < run.nodes.size(); ++n) {
        LayerTotals& t = totals[n];
        const NodeReport& r = run.nodes[n];
        if (t.report.name.empty()) {
          t.report = r;
        } else {
          t.report.spikes += r.spikes;
          t.report.counts.macs += r.counts.macs;
          t.report.counts.acs += r.counts.acs;
          t.report.seconds += r.seconds;
          for (std::size_t s = 0; s < r.per_step.size(); ++s)
            t.report.per_step[s] += r.per_step[s];
        }
        t.slots += static_cast<double>(element_count(r.shape)) * r.steps * batch;
      }
      if (trace) {
        write_graph_spikes(*trace, run, first);
        write_graph_states(*trace, run, recorded, first);
      }
      if (a.check_reversible && not_reversible.empty()) {
        const auto check_start = std::chrono::steady_clock::now();
        try {
          const auto errors = trevsnn_inversion_errors(graph, x);
          for (std::size_t t = 0; t < errors.size(); ++t) {
            for (std::size_t l = 0; l < 4; ++l)
              inversion[t][l] = std::max(inversion[t][l], errors[t][l]);
          }
        } catch (const GraphError& error) {
          not_reversible = error.what();
        }
        check_seconds +=
            std::chrono::duration<double>(std::chrono::steady_clock::now() - check_start).count();
      }
      if (!a.quiet && batches > 1 && isatty(fileno(stderr))) {
        std::fprintf(stderr, "\r  batch %zu/%zu", first / a.batch + 1, batches);
      }
    }
    const double wall_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() -
        check_seconds;
    if (!a.quiet && batches > 1 && isatty(fileno(stderr))) std::fprintf(stderr, "\n");
    const double peak_mb = peak_resident_mb();

    const EnergyModel energy{a.mac_pj, a.ac_pj};
    double total_pj = 0.0, total_macs = 0.0, total_acs = 0.0;
    for (std::size_t n = 0; n < totals.size(); ++n) {
      LayerTotals& t = totals[n];
      t.report.firing_rate = t.slots > 0 ? t.report.spikes / t.slots : 0.0;
      total_pj += t.report.energy_pj(energy);
      total_macs += t.report.counts.macs;
      total_acs += t.report.counts.acs;
      if (trace) {
        trace->set_population_attribute(n, "firing_rate", t.report.firing_rate);
        trace->set_population_attribute(n, "macs", static_cast<double>(t.report.counts.macs));
        trace->set_population_attribute(n, "acs", static_cast<double>(t.report.counts.acs));
        trace->set_population_attribute(n, "energy_pj", t.report.energy_pj(energy));
      }
    }
    // Top-k per sample, for classifiers (a vector output).
    std::vector<std::vector<std::size_t>> top(samples);
    std::size_t correct = 0;
    for (std::size_t s = 0; s < samples; ++s) {
      std::vector<std::size_t> order(out_features);
      std::iota(order.begin(), order.end(), std::size_t{0});
      const float* o = outputs.data() + s * out_features;
      const std::size_t k = std::min(a.top_k, out_features);
      std::partial_sort(order.begin(), order.begin() + k, order.end(),
                        [o](std::size_t x, std::size_t y) { return o[x] > o[y]; });
      order.resize(k);
      top[s] = order;
      if (!labels.empty() && !order.empty() && static_cast<long>(order[0]) == labels[s]) ++correct;
    }
    if (trace) trace->finish(true, timesteps);
    if (!a.save_outputs.empty()) {
      Shape shape = graph.output().shape;
      if (a.outputs_per_timestep) shape.insert(shape.begin(), output_steps);
      shape.insert(shape.begin(), samples);
      write_npy(a.save_outputs, shape, a.outputs_per_timestep ? step_outputs : outputs);
    }

    if (!a.quiet) {
      std::printf("\nsnnsim infer %s\n", a.network.c_str());
      std::printf("  model      %zu nodes, T = %zu, input %s, %s encoding\n",
                  graph.nodes().size() - 1, timesteps, shape_string(input_shape).c_str(),
                  std::string(encoder_name(spec.encoder.kind)).c_str());
      std::printf("  input      %s: %zu sample%s, batch %zu\n", a.input.c_str(), samples,
                  samples == 1 ? "" : "s", a.batch);
      std::printf("  backend    %s\n", executor->description().c_str());
      std::printf("\n  predictions (top %zu: class and mean output over timesteps)\n",
                  std::min(a.top_k, out_features));
      const std::size_t shown = std::min<std::size_t>(samples, 10);
      for (std::size_t s = 0; s < shown; ++s) {
        std::printf("    sample %-4zu", s);
        for (std::size_t c : top[s])
          std::printf("  %3zu (%7.3f)", c, outputs[s * out_features + c]);
        if (!labels.empty()) std::printf("   label %ld", labels[s]);
        std::printf("\n");
      }
      if (shown < samples) std::printf("    ... %zu more samples\n", samples - shown);
      if (!labels.empty()) {
        std::printf("  accuracy   %.2f %% (%zu of %zu)\n", 100.0 * correct / samples, correct,
                    samples);
      }
      double layer_seconds = 0.0;
      for (const LayerTotals& t : totals)
        layer_seconds += t.report.seconds;
      int name_width = 16;
      for (const LayerTotals& t : totals)
        name_width = std::max(name_width, static_cast<int>(t.report.name.size()));
      std::printf("\n  %-*s %-18s %-14s %9s %9s %9s %11s %6s\n", name_width, "layer", "op", "shape",
                  "rate", "ACs", "MACs", "energy/smp", "time");
      for (const LayerTotals& t : totals) {
        char rate[16] = "-";
        if (t.report.spiking)
          std::snprintf(rate, sizeof rate, "%.2f %%", 100 * t.report.firing_rate);
        // Operator times are measured on the CPU only (GPU kernels run asynchronously).
        char time[16] = "-";
        if (layer_seconds > 0)
          std::snprintf(time, sizeof time, "%.1f%%", 100.0 * t.report.seconds / layer_seconds);
        std::printf("  %-*s %-18s %-14s %9s %9s %9s %8.2f nJ %6s\n", name_width,
                    t.report.name.c_str(), t.report.kind.c_str(),
                    shape_string(t.report.shape).c_str(), rate,
                    scaled(static_cast<double>(t.report.counts.acs) / samples).c_str(),
                    scaled(static_cast<double>(t.report.counts.macs) / samples).c_str(),
                    t.report.energy_pj(energy) / samples * 1e-3, time);
      }
      std::printf("  per sample: %s ACs, %s MACs, %.3f uJ (%.1f pJ/MAC, %.1f pJ/AC)\n",
                  scaled(total_acs / samples).c_str(), scaled(total_macs / samples).c_str(),
                  total_pj / samples * 1e-6, energy.mac_pj, energy.ac_pj);
      if (!pruning.empty()) {
        std::printf("  tokens kept");
        for (std::size_t n : pruning) {
          std::printf("%s %s %zu of %zu", n == pruning.front() ? "" : ",",
                      graph.nodes()[n].name.c_str(), graph.nodes()[n].shape[0],
                      graph.nodes()[graph.nodes()[n].inputs[0]].shape[0]);
        }
        std::printf(" (the same at every timestep%s)\n", trace ? "; indices in the trace" : "");
      }
      if (a.per_step) print_rates_per_step(graph, totals, samples);
      if (!not_reversible.empty()) {
        std::printf("\n  reversibility: %s\n", not_reversible.c_str());
      } else if (!inversion.empty()) {
        std::printf(
            "\n  reversibility: column t's level states recomputed from column %zu's by "
            "inverses (max |error| / max |c|)\n",
            timesteps - 1);
        std::printf("    %-8s %10s %10s %10s %10s\n", "column", "c0", "c1", "c2", "c3");
        for (std::size_t t = inversion.size(); t-- > 0;) {
          std::printf("    %-8zu %10.2e %10.2e %10.2e %10.2e\n", t, inversion[t][0],
                      inversion[t][1], inversion[t][2], inversion[t][3]);
        }
      }
      if (a.per_step || a.check_reversible) std::printf("\n");
      std::printf("  time       %.3f s for %zu samples: %.1f samples/s on %s\n", wall_s, samples,
                  samples / wall_s, executor->description().c_str());
      std::printf("  memory     %.0f MB resident with the model loaded; peak %.0f MB %s\n",
                  model_mb, peak_mb,
                  peak_reset ? ("while running (" +
                                std::to_string(std::lround(peak_mb - model_mb)) + " MB above)")
                                   .c_str()
                             : "since the start");
      if (trace) std::printf("  trace      %s\n", a.output.c_str());
      if (!a.save_outputs.empty()) std::printf("  outputs    %s\n", a.save_outputs.c_str());
    }
    if (!a.summary_json.empty()) {
      nlohmann::json j;
      j["network"] = a.network;
      j["input"] = a.input;
      j["samples"] = samples;
      j["timesteps"] = timesteps;
      j["batch"] = a.batch;
      j["backend"] = executor->name();
      j["backend_description"] = executor->description();
      j["wall_s"] = wall_s;
      j["samples_per_s"] = samples / wall_s;
      j["model_mb"] = model_mb;
      j["peak_mb"] = peak_mb;
      j["peak_since_model_loaded"] = peak_reset;
      j["energy_uj_per_sample"] = total_pj / samples * 1e-6;
      j["acs_per_sample"] = total_acs / samples;
      j["macs_per_sample"] = total_macs / samples;
      j["predictions"] = top;
      if (!labels.empty()) j["accuracy"] = static_cast<double>(correct) / samples;
      for (const LayerTotals& t : totals) {
        j["layers"].push_back({{"name", t.report.name},
                               {"op", t.report.kind},
                               {"shape", t.report.shape},
                               {"spikes", t.report.spikes},
                               {"spikes_per_step", t.report.per_step},
                               {"firing_rate", t.report.firing_rate},
                               {"acs", t.report.counts.acs},
                               {"macs", t.report.counts.macs},
                               {"energy_pj", t.report.energy_pj(energy)},
                               {"seconds", t.report.seconds}});
      }
      if (!not_reversible.empty()) {
        j["not_reversible"] = not_reversible;
      } else if (!inversion.empty()) {
        j["inversion_errors"] = inversion;
      }
      write_text_atomically(a.summary_json, j.dump(2) + "\n");
    }
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "snnsim infer: %s\n", error.what());
    return kExitFailure;
  }
}

}  // namespace snnsim::cli
