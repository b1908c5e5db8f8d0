// snnsim lm SUBCOMMAND MODEL.json: a SpikeLM language model on text (docs/models/spikelm.md):
// fill-mask, classify, encode. Texts are tokenized with the model's WordPiece vocabulary, run in
// batches of similar lengths (the graph is bound to each batch's longest text, padding masked),
// and every run ends with per-layer spike shares (-1 / 0 / +1), ACs, MACs and the energy.
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>
#include <sstream>

#include "encoders/wordpiece.h"
#include "networks/file_extension.h"
#include "networks/hdf5_dataset.h"
#include "networks/layer_graph_file.h"
#include "networks/npy.h"
#include "sim/atomic_write.h"
#include "sim/graph/models/spikelm.h"
#include "sim/trace_writer.h"
#include "tools/snnsim/cli_options.h"
#include "tools/snnsim/commands.h"
#include "tools/snnsim/number_format.h"
#include "tools/snnsim/output_paths.h"
#include "tools/snnsim/subcommands.h"

namespace snnsim::cli {
namespace {

constexpr const char* kAbout =
    "usage: snnsim lm SUBCOMMAND MODEL.json [TEXT] [options]\n"
    "\n"
    "Runs a SpikeLM language model (\"model\": \"spikelm\", docs/models/spikelm.md) on text,\n"
    "tokenized with the vocabulary its file names (\"vocab\"), and prints per-layer spike\n"
    "shares (-1 / 0 / +1), ACs, MACs and the energy estimate. Texts come from the command line or\n"
    "from --input (one per line; a tab splits a line into a pair of texts).\n";

/// A text as the model reads it, and where it came from.
struct Text {
  std::string source;  ///< "line 12" or "the text"
  WordPieceTokenizer::Encoding encoding;
};

/// One subcommand's run: the model, its tokenizer, and the totals over every batch.
class LanguageModelRun {
 public:
  explicit LanguageModelRun(const Arguments& a) : a_(a), spec_(load_layer_graph_file(a.network)) {
    if (spec_.model != "spikelm") {
      throw std::runtime_error(a.network + " is not a language model (\"model\": \"spikelm\")");
    }
    if (spec_.vocabulary.empty()) {
      throw std::runtime_error(a.network +
                               ": names no vocabulary (\"vocab\": \"vocab.txt\"), which snnsim lm "
                               "needs to tokenize text");
    }
    tokenizer_ =
        std::make_unique<WordPieceTokenizer>(WordPieceTokenizer::from_file(spec_.vocabulary));
    LayerGraph& graph = *spec_.graph;
    const Shape table = graph.nodes()[static_cast<std::size_t>(graph.find("embeddings.word"))]
                            .op->weight_specs()[0]
                            .shape;
    if (tokenizer_->size() != table[0]) {
      throw std::runtime_error(spec_.vocabulary.string() + ": holds " +
                               std::to_string(tokenizer_->size()) + " tokens, but " + a.network +
                               "'s embeddings have " + std::to_string(table[0]) +
                               " rows (\"vocabulary\"): not this model's vocabulary");
    }
    const std::size_t positions = graph.input_shape()[1];
    max_length_ = a.max_length == 0 ? positions : a.max_length;
    if (max_length_ > positions) {
      throw std::runtime_error("--max-length " + std::to_string(max_length_) + ": the model has " +
                               std::to_string(positions) + " positions (\"max_positions\")");
    }
    head_ = graph.output().name;
    hidden_node_ = static_cast<std::size_t>(graph.find("encoder.mean"));
    traced_ = traced_nodes();
  }

  const std::string& head() const { return head_; }
  const WordPieceTokenizer& tokenizer() const { return *tokenizer_; }
  const LayerGraphSpec& spec() const { return spec_; }

  /// The texts of --input, or of the positional TEXT; a line with a tab is a pair.
  std::vector<Text> read_texts() {
    std::vector<std::pair<std::string, std::string>> lines;
    if (!a_.input.empty()) {
      std::ifstream in(a_.input, std::ios::binary);
      if (!in) throw std::runtime_error(a_.input + ": cannot be read");
      std::string line;
      for (std::size_t number = 1; std::getline(in, line); ++number) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        lines.emplace_back(a_.input + ":" + std::to_string(number), line);
      }
      if (lines.empty()) throw std::runtime_error(a_.input + ": holds no text (the file is empty)");
    } else if (a_.files.size() > 1) {
      lines.emplace_back("the text", a_.files[1]);
    } else {
      throw std::runtime_error("missing the text: give it after the model, or --input TEXTS.txt");
    }
    std::vector<Text> texts;
    for (auto& [source, line] : lines) {
      try {
        const std::size_t tab = line.find('\t');
        texts.push_back({source, tab == std::string::npos
                                     ? tokenizer_->encode(line, max_length_)
                                     : tokenizer_->encode_pair(
                                           std::string_view(line).substr(0, tab),
                                           std::string_view(line).substr(tab + 1), max_length_)});
      } catch (const std::invalid_argument& error) {
        throw std::runtime_error(source + ": " + error.what());
      }
      truncated_ += texts.back().encoding.truncated;
      tokens_ += texts.back().encoding.ids.size();
    }
    if (truncated_ > 0 && !a_.quiet) {
      std::fprintf(stderr,
                   "snnsim lm: warning: %zu text%s longer than %zu tokens cut to that length "
                   "(--max-length)\n",
                   truncated_, truncated_ == 1 ? "" : "s", max_length_);
    }
    return texts;
  }

  /// Runs every text, in batches of similar lengths, and calls use(text index, output values of
  /// that text, hidden states of that text) for each; output and hidden are [L_batch, ...] rows
  /// of the batch's run.
  template <class Use>
  void run(const std::vector<Text>& texts, Use use) {
    std::vector<std::size_t> order(texts.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&texts](std::size_t x, std::size_t y) {
      return texts[x].encoding.ids.size() < texts[y].encoding.ids.size();
    });
    LayerGraph& graph = *spec_.graph;
    std::vector<std::size_t> keep = traced_;
    if (hidden_node_ != graph.nodes().size() - 1) keep.push_back(hidden_node_);
    open_trace(texts.size());
    const auto start = std::chrono::steady_clock::now();
    const std::size_t batches = (texts.size() + a_.batch - 1) / a_.batch;
    for (std::size_t first = 0; first < texts.size(); first += a_.batch) {
      const std::size_t batch = std::min(a_.batch, texts.size() - first);
      std::vector<std::vector<std::uint32_t>> ids, types;
      for (std::size_t k = first; k < first + batch; ++k) {
        ids.push_back(texts[order[k]].encoding.ids);
        types.push_back(texts[order[k]].encoding.types);
      }
      const Value x = spikelm_input(ids, types, tokenizer_->pad(), graph.timesteps());
      graph.rebind(x.shape);
      const GraphRun result = graph.run(x, false, false, keep);
      add_to_totals(result, batch);
      const std::vector<float> out = result.output.densified();
      const Value& hidden =
          keep.back() == hidden_node_ ? result.kept_values[hidden_node_ - 1] : result.output;
      const std::vector<float> states = hidden.densified();
      const std::size_t out_size = out.size() / batch, hidden_size = states.size() / batch;
      for (std::size_t b = 0; b < batch; ++b) {
        use(order[first + b], std::span(out).subspan(b * out_size, out_size),
            std::span(states).subspan(b * hidden_size, hidden_size), x.shape[1]);
      }
      write_trace(result, order, first);
      if (!a_.quiet && batches > 1 && isatty(fileno(stderr)))
        std::fprintf(stderr, "\r  batch %zu/%zu", first / a_.batch + 1, batches);
    }
    if (!a_.quiet && batches > 1 && isatty(fileno(stderr))) std::fprintf(stderr, "\n");
    wall_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (trace_) trace_->finish(true, graph.timesteps());
  }

  /// The closing summary: per encoder layer its neurons' spike shares, ACs and MACs; totals,
  /// energy and throughput.
  void print_summary(std::size_t texts) const {
    if (a_.quiet) return;
    const EnergyModel energy{a_.mac_pj, a_.ac_pj};
    const LayerGraph& graph = *spec_.graph;
    std::printf("\n  %-12s %8s %8s %8s %11s %11s %12s\n", "layer", "-1", "0", "+1", "ACs/text",
                "MACs/text", "energy/text");
    double total_pj = 0, total_acs = 0, total_macs = 0;
    for (const auto& [group, t] : groups()) {
      // Shares of the group's neurons' values; "-" for a group without neurons.
      const auto share = [&t](double count) {
        char text[16] = "-";
        if (t.slots > 0) std::snprintf(text, sizeof text, "%.2f%%", 100.0 * count / t.slots);
        return std::string(text);
      };
      std::printf("  %-12s %8s %8s %8s %11s %11s %9.2f nJ\n", group.c_str(),
                  share(t.negative).c_str(), share(t.slots - t.spikes).c_str(),
                  share(t.spikes - t.negative).c_str(), scaled(t.acs / texts).c_str(),
                  scaled(t.macs / texts).c_str(),
                  (t.macs * energy.mac_pj + t.acs * energy.ac_pj) / texts * 1e-3);
      total_pj += t.macs * energy.mac_pj + t.acs * energy.ac_pj;
      total_acs += t.acs;
      total_macs += t.macs;
    }
    std::printf(
        "  per text: %s ACs, %s MACs, %.3f uJ (%.1f pJ/MAC, %.1f pJ/AC); spike shares over "
        "every position run, padding included\n",
        scaled(total_acs / texts).c_str(), scaled(total_macs / texts).c_str(),
        total_pj / texts * 1e-6, energy.mac_pj, energy.ac_pj);
    std::printf(
        "  time       %.3f s for %zu text%s, %s tokens: %.1f tokens/s on %d thread%s (T = "
        "%zu)\n",
        wall_s_, texts, texts == 1 ? "" : "s", grouped(tokens_).c_str(), tokens_ / wall_s_,
        omp_get_max_threads(), omp_get_max_threads() == 1 ? "" : "s", graph.timesteps());
    if (trace_) std::printf("  trace      %s\n", a_.output.c_str());
  }

  /// The summary's numbers as JSON (--summary-json).
  void write_summary_json(std::size_t texts, nlohmann::json j) const {
    if (a_.summary_json.empty()) return;
    j["network"] = a_.network;
    j["texts"] = texts;
    j["tokens"] = tokens_;
    j["truncated"] = truncated_;
    j["wall_s"] = wall_s_;
    j["tokens_per_s"] = tokens_ / wall_s_;
    for (const auto& [group, t] : groups()) {
      j["layers"].push_back({{"layer", group},
                             {"share_minus", t.negative / std::max(t.slots, 1.0)},
                             {"share_plus", (t.spikes - t.negative) / std::max(t.slots, 1.0)},
                             {"acs", t.acs},
                             {"macs", t.macs}});
    }
    write_text_atomically(a_.summary_json, j.dump(2) + "\n");
  }

 private:
  struct Totals {
    double spikes = 0, negative = 0, slots = 0, acs = 0, macs = 0;
  };

  /// "layer3" for the nodes of encoder layer 3, "embeddings", "head" for the rest.
  static std::string group_of(const std::string& node) {
    if (node.starts_with("layer")) return node.substr(0, node.find('.'));
    if (node.starts_with("embeddings")) return "embeddings";
    return node.starts_with("encoder") ? "encoder" : "head";
  }

  std::vector<std::pair<std::string, Totals>> groups() const {
    std::vector<std::pair<std::string, Totals>> out;
    for (const auto& [node, t] : totals_) {
      const std::string group = group_of(node);
      if (out.empty() || out.back().first != group) out.push_back({group, {}});
      Totals& g = out.back().second;
      g.spikes += t.spikes;
      g.negative += t.negative;
      g.slots += t.slots;
      g.acs += t.acs;
      g.macs += t.macs;
    }
    return out;
  }

  void add_to_totals(const GraphRun& result, std::size_t batch) {
    if (totals_.empty()) {
      for (const NodeReport& r : result.nodes)
        totals_.emplace_back(r.name, Totals{});
    }
    for (std::size_t n = 0; n < result.nodes.size(); ++n) {
      const NodeReport& r = result.nodes[n];
      Totals& t = totals_[n].second;
      t.spikes += static_cast<double>(r.spikes);
      t.negative += static_cast<double>(r.negative);
      if (r.spiking) t.slots += static_cast<double>(element_count(r.shape)) * r.steps * batch;
      t.acs += static_cast<double>(r.counts.acs);
      t.macs += static_cast<double>(r.counts.macs);
    }
  }

  /// The spiking nodes of the layers --trace-layers names (every layer by default), with -o.
  std::vector<std::size_t> traced_nodes() const {
    if (a_.output.empty()) {
      if (!a_.trace_layers.empty()) throw std::runtime_error("--trace-layers: needs -o TRACE.h5");
      return {};
    }
    const LayerGraph& graph = *spec_.graph;
    std::set<std::string> layers;
    std::stringstream list(a_.trace_layers);
    for (std::string item; std::getline(list, item, ',');) {
      if (item.empty() || item.find_first_not_of("0123456789") != std::string::npos ||
          graph.find("layer" + item + ".query") < 0) {
        throw std::runtime_error("--trace-layers " + a_.trace_layers + ": '" + item +
                                 "' is not an encoder layer of " + a_.network);
      }
      layers.insert("layer" + std::to_string(std::stoul(item)));
    }
    std::vector<std::size_t> nodes;
    for (std::size_t n = 1; n < graph.nodes().size(); ++n) {
      const GraphNode& node = graph.nodes()[n];
      const std::string_view kind = node.op->kind();
      if ((kind == "elastic_bispike" || kind == "ternary") &&
          (layers.empty() || layers.count(group_of(node.name))))
        nodes.push_back(n);
    }
    return nodes;
  }

  void open_trace(std::size_t texts) {
    if (a_.output.empty()) return;
    const LayerGraph& graph = *spec_.graph;
    TraceMetadata metadata;
    metadata.dt_s = 1.0;
    metadata.duration_s = static_cast<double>(graph.timesteps());
    std::ifstream in(spec_.path);
    metadata.network_json.assign(std::istreambuf_iterator<char>(in), {});
    metadata.network_path = spec_.path;
    metadata.backend = "cpu";
    metadata.threads = omp_get_max_threads();
    metadata.timesteps = graph.timesteps();
    metadata.samples = texts;
    // A population per traced node, over the model's positions: token n's feature c is neuron
    // n * features + c, whatever the length of the batch it ran in.
    std::vector<TracePopulationSpec> populations;
    for (std::size_t n : traced_) {
      const GraphNode& node = graph.nodes()[n];
      const std::uint32_t features = static_cast<std::uint32_t>(node.shape[1]);
      populations.push_back({node.name,
                             static_cast<NeuronIndex>(max_length_) * features,
                             true,
                             {},
                             true,
                             true,
                             std::string(node.op->kind()),
                             {static_cast<std::uint32_t>(max_length_), features},
                             {}});
    }
    trace_ = std::make_unique<TraceWriter>(a_.output, metadata, std::move(populations));
  }

  void write_trace(const GraphRun& result, const std::vector<std::size_t>& order,
                   std::size_t first) {
    if (!trace_) return;
    std::vector<float> values;
    for (std::size_t p = 0; p < traced_.size(); ++p) {
      const SpikeTrain& s = *result.kept_values[traced_[p] - 1].spikes;
      for (std::size_t f = 0; f < s.frames(); ++f) {
        values.clear();
        for (std::uint64_t k = s.offsets[f]; k < s.offsets[f + 1]; ++k)
          values.push_back(static_cast<float>(s.level(k)) * s.scale(f / s.batch));
        trace_->append_spikes(p, f / s.batch, s.frame_indices(f),
                              static_cast<std::uint32_t>(order[first + f % s.batch]), values);
      }
    }
  }

  const Arguments& a_;
  LayerGraphSpec spec_;
  std::unique_ptr<WordPieceTokenizer> tokenizer_;
  std::size_t max_length_ = 0;
  std::string head_;
  std::size_t hidden_node_ = 0;
  std::vector<std::size_t> traced_;
  std::unique_ptr<TraceWriter> trace_;
  std::vector<std::pair<std::string, Totals>> totals_;
  std::size_t truncated_ = 0, tokens_ = 0;
  double wall_s_ = 0.0;
};

/// Parses the command line of `snnsim lm NAME`; false when --help was printed.
bool parse_lm(std::string_view name, const char* usage, int argc, const char* const* argv,
              Arguments& a) {
  a.top_k = 5;
  if (!parse_command_line(argc, argv, usage,
                          {OptionGroup::language_model, OptionGroup::energy, OptionGroup::output},
                          a, {"the model file", 1, 2})) {
    return false;
  }
  if (a.files.size() > 1 && !a.input.empty()) {
    throw std::runtime_error("give the text on the command line or --input, not both");
  }
  if (!a.save_outputs.empty() && name == "fill-mask")
    throw std::runtime_error("--save-outputs: fill-mask prints its tokens; use encode");
  return true;
}

/// exp(x - max) / sum, in double: the probabilities of logits.
std::vector<double> probabilities(std::span<const float> logits) {
  const float top = *std::max_element(logits.begin(), logits.end());
  std::vector<double> p(logits.size());
  double sum = 0;
  for (std::size_t i = 0; i < logits.size(); ++i)
    sum += p[i] = std::exp(static_cast<double>(logits[i]) - top);
  for (double& v : p)
    v /= sum;
  return p;
}

/// The `k` indices of the largest values, largest first.
std::vector<std::size_t> top_indices(const std::vector<double>& values, std::size_t k) {
  std::vector<std::size_t> order(values.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  k = std::min(k, values.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<long>(k), order.end(),
                    [&values](std::size_t x, std::size_t y) { return values[x] > values[y]; });
  order.resize(k);
  return order;
}

/// Runs `body` with the errors of `snnsim lm NAME` reported in one line.
template <class Body>
int guarded(std::string_view name, Body body) {
  try {
    return body();
  } catch (const std::exception& error) {
    std::fprintf(stderr, "snnsim lm %.*s: %s\n", static_cast<int>(name.size()), name.data(),
                 error.what());
    return kExitFailure;
  }
}

/// Parses, or reports a bad command line (exit 2); -1 when the command should go on.
int parse_or_exit(std::string_view name, const char* usage, int argc, const char* const* argv,
                  Arguments& a) {
  try {
    if (!parse_lm(name, usage, argc, argv, a)) return 0;
    if (a.threads > 0) omp_set_num_threads(a.threads);
    return -1;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "snnsim lm %.*s: %s\n", static_cast<int>(name.size()), name.data(),
                 error.what());
    return kExitUsage;
  }
}

int fill_mask(std::string_view name, int argc, const char* const* argv) {
  static const char* usage =
      "usage: snnsim lm fill-mask MODEL.json \"text with [MASK]\" [options]\n"
      "\n"
      "The most likely tokens for each [MASK] of the text (or of each line of --input), with\n"
      "their probabilities, from the model's masked-language-model head.\n"
      "\n"
      "example: snnsim lm fill-mask examples/spikelm-docs.json \"the [MASK] is free software\"\n";
  Arguments a;
  if (const int status = parse_or_exit(name, usage, argc, argv, a); status >= 0) return status;
  return guarded(name, [&]() {
    LanguageModelRun lm(a);
    if (lm.head() != "mlm.decoder") {
      throw std::runtime_error(a.network +
                               " has no masked-language-model head (\"head\": \"mlm\")");
    }
    const std::vector<Text> texts = lm.read_texts();
    const WordPieceTokenizer& tokenizer = lm.tokenizer();
    for (const Text& text : texts) {
      if (std::find(text.encoding.ids.begin(), text.encoding.ids.end(), tokenizer.mask()) ==
          text.encoding.ids.end())
        throw std::runtime_error(text.source + ": has no [MASK] to fill");
    }
    // Per text, per [MASK]: its position and its top tokens with probabilities.
    std::vector<std::vector<std::pair<std::size_t, std::vector<std::pair<std::size_t, double>>>>>
        filled(texts.size());
    const std::size_t vocabulary = tokenizer.size();
    lm.run(texts, [&](std::size_t t, std::span<const float> logits, std::span<const float>,
                      std::size_t) {
      const std::vector<std::uint32_t>& ids = texts[t].encoding.ids;
      for (std::size_t n = 0; n < ids.size(); ++n) {
        if (ids[n] != tokenizer.mask()) continue;
        const std::vector<double> p = probabilities(logits.subspan(n * vocabulary, vocabulary));
        std::vector<std::pair<std::size_t, double>> best;
        for (std::size_t id : top_indices(p, a.top_k))
          best.emplace_back(id, p[id]);
        filled[t].emplace_back(n, std::move(best));
      }
    });
    nlohmann::json j;
    for (std::size_t t = 0; t < texts.size(); ++t) {
      if (!a.quiet) std::printf("%s\n", texts.size() > 1 ? texts[t].source.c_str() : "");
      nlohmann::json masks;
      for (const auto& [position, best] : filled[t]) {
        if (!a.quiet) std::printf("  [MASK] at token %zu:", position);
        nlohmann::json tokens;
        for (const auto& [id, p] : best) {
          if (!a.quiet)
            std::printf("  %s (%.3f)", tokenizer.token(static_cast<std::uint32_t>(id)).c_str(), p);
          tokens.push_back({{"token", tokenizer.token(static_cast<std::uint32_t>(id))},
                            {"id", id},
                            {"probability", p}});
        }
        if (!a.quiet) std::printf("\n");
        masks.push_back({{"position", position}, {"tokens", tokens}});
      }
      j["results"].push_back({{"source", texts[t].source}, {"masks", masks}});
    }
    lm.print_summary(texts.size());
    lm.write_summary_json(texts.size(), j);
    return 0;
  });
}

int classify(std::string_view name, int argc, const char* const* argv) {
  static const char* usage =
      "usage: snnsim lm classify MODEL.json --input TEXTS.txt [options]\n"
      "\n"
      "The class of each text (each line of --input, or the text given), with its probability,\n"
      "from the model's sequence-classification head; --save-outputs writes the logits.\n";
  Arguments a;
  if (const int status = parse_or_exit(name, usage, argc, argv, a); status >= 0) return status;
  return guarded(name, [&]() {
    LanguageModelRun lm(a);
    if (lm.head() != "classifier") {
      throw std::runtime_error(a.network +
                               " has no sequence-classification head (\"head\": \"classify\")");
    }
    refuse_output_over_inputs("--save-outputs", a.save_outputs,
                              {{a.network, "the model file"}, {a.input, "the texts"}});
    const std::vector<Text> texts = lm.read_texts();
    std::vector<float> logits;
    std::size_t classes = 0;
    std::vector<std::vector<float>> per_text(texts.size());
    lm.run(texts, [&](std::size_t t, std::span<const float> out, std::span<const float>,
                      std::size_t) { per_text[t].assign(out.begin(), out.end()); });
    nlohmann::json j;
    for (std::size_t t = 0; t < texts.size(); ++t) {
      classes = per_text[t].size();
      logits.insert(logits.end(), per_text[t].begin(), per_text[t].end());
      const std::vector<double> p = probabilities(per_text[t]);
      const std::size_t label = top_indices(p, 1)[0];
      if (!a.quiet && t < 20)
        std::printf("  %-24s class %zu (%.3f)\n", texts[t].source.c_str(), label, p[label]);
      j["predictions"].push_back(
          {{"source", texts[t].source}, {"class", label}, {"probability", p[label]}});
    }
    if (!a.quiet && texts.size() > 20) std::printf("  ... %zu more texts\n", texts.size() - 20);
    if (!a.save_outputs.empty()) write_npy(a.save_outputs, {texts.size(), classes}, logits);
    lm.print_summary(texts.size());
    lm.write_summary_json(texts.size(), j);
    return 0;
  });
}

int encode(std::string_view name, int argc, const char* const* argv) {
  static const char* usage =
      "usage: snnsim lm encode MODEL.json --input TEXTS.txt --save-outputs HIDDEN.h5|.npy\n"
      "\n"
      "The encoder's hidden states of each text (its mean over the timesteps, what the heads\n"
      "read): .npy float32 [texts, longest, hidden], zero after each text's end; .h5 the same\n"
      "as dataset hidden, with ids [texts, longest] and lengths [texts].\n";
  Arguments a;
  if (const int status = parse_or_exit(name, usage, argc, argv, a); status >= 0) return status;
  return guarded(name, [&]() {
    if (a.save_outputs.empty()) throw std::runtime_error("missing --save-outputs HIDDEN.h5|.npy");
    const std::string extension = lowercase_extension(a.save_outputs);
    if (extension != ".npy" && extension != ".h5" && extension != ".hdf5") {
      throw std::runtime_error("--save-outputs " + a.save_outputs +
                               ": expected a file ending in .npy, .h5 or .hdf5");
    }
    LanguageModelRun lm(a);
    refuse_output_over_inputs("--save-outputs", a.save_outputs,
                              {{a.network, "the model file"}, {a.input, "the texts"}});
    const std::vector<Text> texts = lm.read_texts();
    std::size_t longest = 0;
    for (const Text& text : texts)
      longest = std::max(longest, text.encoding.ids.size());
    const std::size_t hidden =
        lm.spec()
            .graph->nodes()[static_cast<std::size_t>(lm.spec().graph->find("encoder.mean"))]
            .shape[1];
    std::vector<float> states(texts.size() * longest * hidden, 0.0f);
    lm.run(texts,
           [&](std::size_t t, std::span<const float>, std::span<const float> h, std::size_t) {
             const std::size_t length = texts[t].encoding.ids.size();
             std::copy_n(h.begin(), length * hidden, states.begin() + t * longest * hidden);
           });
    if (extension == ".npy") {
      write_npy(a.save_outputs, {texts.size(), longest, hidden}, states);
    } else {
      Hdf5Array ids{
          {texts.size(), longest}, std::vector<double>(texts.size() * longest, 0.0), true};
      Hdf5Array lengths{{texts.size()}, {}, true};
      for (std::size_t t = 0; t < texts.size(); ++t) {
        const std::vector<std::uint32_t>& text = texts[t].encoding.ids;
        std::copy(text.begin(), text.end(), ids.values.begin() + static_cast<long>(t * longest));
        lengths.values.push_back(static_cast<double>(text.size()));
      }
      write_hdf5_arrays(
          a.save_outputs,
          {{"hidden", {{texts.size(), longest, hidden}, {states.begin(), states.end()}}},
           {"ids", std::move(ids)},
           {"lengths", std::move(lengths)}});
    }
    if (!a.quiet)
      std::printf("  hidden     %s: %zu texts x %zu tokens x %zu\n", a.save_outputs.c_str(),
                  texts.size(), longest, hidden);
    lm.print_summary(texts.size());
    lm.write_summary_json(texts.size(), {});
    return 0;
  });
}

constexpr Subcommand kSubcommands[] = {
    {"fill-mask", "MODEL.json \"TEXT with [MASK]\"", "the likeliest tokens for each [MASK]",
     fill_mask},
    {"classify", "MODEL.json --input TEXTS.txt", "a class and its probability per text", classify},
    {"encode", "MODEL.json --input TEXTS.txt --save-outputs H.h5",
     "the hidden states of each text, to .h5 or .npy", encode},
};

}  // namespace

int command_lm(int argc, const char* const* argv) {
  return run_subcommand("lm", kAbout, kSubcommands, argc, argv);
}

}  // namespace snnsim::cli
