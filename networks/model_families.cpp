#include "networks/model_families.h"

#include "sim/limits.h"

namespace snnsim {
namespace {

constexpr std::uint64_t kMaxSize = limits::kTensorElements;

ModelGraph build_trevsnn_file(const Node& top, const Shape& input_shape, const EncoderSpec& encoder,
                              std::optional<std::size_t> timesteps) {
  const Node variant = top.at("variant");
  const std::vector<std::string> variants = trevsnn_variants();
  TrevsnnConfig config = trevsnn_variant(variants[variant.choice(variants)]);
  if (top.has("channels")) {
    const Node list = top.at("channels");
    list.require_array();
    if (list.size() != 4) list.fail("expected 4 channel counts, C0 to C3 of the four levels");
    for (std::size_t l = 0; l < 4; ++l)
      config.channels[l] = list[l].whole_number(1, kMaxSize, "a number of channels");
  }
  if (top.has("timesteps"))
    config.timesteps =
        top.at("timesteps").whole_number(1, limits::kTimesteps, "a number of columns");
  if (timesteps) config.timesteps = *timesteps;
  if (top.has("kernel_size"))
    config.kernel_size = top.at("kernel_size").whole_number(1, 31, "an odd kernel size");
  if (top.has("classes"))
    config.classes = top.at("classes").whole_number(1, kMaxSize, "a number of classes");
  const Node shape = top.at("input").at("shape");
  if (config.events) {
    if (input_shape.size() != 3 || input_shape[0] != 2)
      shape.fail("the DVS variant takes event frames of shape [2, height, width]");
    if (encoder.kind != EncoderKind::event_frames && encoder.kind != EncoderKind::sequence) {
      top.at("input").fail(
          "the DVS variant takes a frame per column: encoder \"event_frames\" (an event "
          "recording) or \"sequence\" (frames in the input file)");
    }
  } else {
    if (input_shape.size() != 3 || input_shape[0] != 3)
      shape.fail("the image variants take RGB images of shape [3, height, width]");
    if (encoder.kind != EncoderKind::direct) {
      top.at("input").fail(
          "the image variants take the image itself (encoder \"direct\"): the stem computes "
          "from it once");
    }
  }
  config.height = input_shape[1];
  config.width = input_shape[2];
  try {
    return build_trevsnn(config);
  } catch (const GraphError& error) {
    top.at("model").fail(error.what());
  }
}

/// "token_pruning": {"blocks": [j, ...], "keep_ratio": r or [r per block], "criterion":
/// "stata" | "evit", "pruned": "drop" | "fuse"}.
TokenPruning token_pruning(const Node& node, std::size_t depths) {
  node.allow_keys({"blocks", "keep_ratio", "criterion", "pruned"});
  TokenPruning p;
  const Node blocks = node.at("blocks");
  blocks.require_array();
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    p.blocks.push_back(blocks[i].whole_number(0, kMaxSize, "a block index"));
    if (p.blocks.back() >= depths) {
      blocks[i].fail("block " + std::to_string(p.blocks.back()) +
                     " does not exist: the model has " + std::to_string(depths) + " blocks, 0 to " +
                     std::to_string(depths - 1));
    }
    if (i > 0 && p.blocks[i] <= p.blocks[i - 1])
      blocks[i].fail("expected the blocks in ascending order, each once");
  }
  const auto ratio = [](const Node& r) {
    const double value = r.quantity(Dimension::dimensionless);
    if (!(value > 0.0 && value <= 1.0))
      r.fail("keep ratio " + std::to_string(value) + ": expected one in (0, 1]");
    return value;
  };
  const Node keep = node.at("keep_ratio");
  if (keep.value().is_array()) {
    if (keep.size() != p.blocks.size()) {
      keep.fail("expected one keep ratio per pruning block (" + std::to_string(p.blocks.size()) +
                "); found " + std::to_string(keep.size()));
    }
    for (std::size_t i = 0; i < keep.size(); ++i)
      p.keep_ratios.push_back(ratio(keep[i]));
  } else {
    p.keep_ratios.assign(p.blocks.size(), ratio(keep));
  }
  if (node.has("criterion")) p.standardize = node.at("criterion").choice({"stata", "evit"}) == 0;
  if (node.has("pruned")) p.fuse = node.at("pruned").choice({"drop", "fuse"}) == 1;
  return p;
}

/// The keys the spiking transformers share, into `config`; `model` names the family in errors.
template <class Config>
void read_transformer_keys(const Node& top, const Shape& input_shape, const EncoderSpec& encoder,
                           std::optional<std::size_t> timesteps, const std::string& model,
                           Config& config) {
  const auto number = [&top](const char* key, std::size_t& into, std::uint64_t maximum) {
    if (top.has(key)) into = top.at(key).whole_number(1, maximum, key);
  };
  number("embed_dims", config.embed_dims, kMaxSize);
  number("depths", config.depths, 1024);
  number("num_heads", config.heads, kMaxSize);
  number("mlp_ratio", config.mlp_ratio, 64);
  number("timesteps", config.timesteps, limits::kTimesteps);
  number("classes", config.classes, kMaxSize);
  if (timesteps) config.timesteps = *timesteps;
  const Node shape = top.at("input").at("shape");
  if (input_shape.size() != 3)
    shape.fail(model + " takes images of shape [channels, height, width]");
  if (encoder.kind != EncoderKind::direct) {
    top.at("input").fail(model + " takes the image itself at every timestep (encoder \"direct\")");
  }
  config.in_channels = input_shape[0];
  config.height = input_shape[1];
  config.width = input_shape[2];
}

ModelGraph build_spikformer_file(const Node& top, const Shape& input_shape,
                                 const EncoderSpec& encoder, std::optional<std::size_t> timesteps) {
  const std::vector<std::string> variants = spikformer_variants();
  SpikformerConfig config = spikformer_variant(variants[top.at("variant").choice(variants)]);
  read_transformer_keys(top, input_shape, encoder, timesteps, "Spikformer", config);
  if (top.has("token_pruning"))
    config.pruning = token_pruning(top.at("token_pruning"), config.depths);
  try {
    return build_spikformer(config);
  } catch (const GraphError& error) {
    top.at("model").fail(error.what());
  }
}

ModelGraph build_spike_driven_file(const Node& top, const Shape& input_shape,
                                   const EncoderSpec& encoder,
                                   std::optional<std::size_t> timesteps) {
  const std::vector<std::string> variants = spike_driven_variants();
  SpikeDrivenConfig config = spike_driven_variant(variants[top.at("variant").choice(variants)]);
  read_transformer_keys(top, input_shape, encoder, timesteps, "the Spike-driven Transformer",
                        config);
  if (top.has("pooling_stat")) config.pooling = top.at("pooling_stat").string();
  try {
    return build_spike_driven_transformer(config);
  } catch (const GraphError& error) {
    top.at("model").fail(error.what());
  }
}

ModelGraph build_spikelm_file(const Node& top, const Shape&, const EncoderSpec&,
                              std::optional<std::size_t> timesteps) {
  if (top.has("input")) {
    top.at("input").fail(
        "SpikeLM takes token ids, [3, L] per text (ids, token types, attention mask) for any "
        "length L up to max_positions: a SpikeLM file has no \"input\"");
  }
  const std::vector<std::string> variants = spikelm_variants();
  SpikeLmConfig config =
      spikelm_variant(top.has("variant") ? variants[top.at("variant").choice(variants)] : "base");
  const auto number = [&top](const char* key, std::size_t& into, std::uint64_t maximum) {
    if (top.has(key)) into = top.at(key).whole_number(1, maximum, key);
  };
  number("layers", config.layers, 1024);
  number("hidden", config.hidden, kMaxSize);
  number("heads", config.heads, kMaxSize);
  number("intermediate", config.intermediate, kMaxSize);
  number("timesteps", config.timesteps, limits::kTimesteps);
  number("vocabulary", config.vocabulary, kMaxSize);
  number("max_positions", config.max_positions, kMaxSize);
  number("type_vocabulary", config.type_vocabulary, kMaxSize);
  number("classes", config.classes, kMaxSize);
  if (timesteps) config.timesteps = *timesteps;
  if (top.has("layer_norm_eps")) {
    const Node eps = top.at("layer_norm_eps");
    config.layer_norm_eps = eps.quantity(Dimension::dimensionless);
    if (!(config.layer_norm_eps > 0.0 && config.layer_norm_eps < 1.0))
      eps.fail("expected an epsilon in (0, 1)");
  }
  if (top.has("head")) {
    config.head = static_cast<SpikeLmHead>(top.at("head").choice({"mlm", "classify", "encoder"}));
  }
  if (top.has("classes") && config.head != SpikeLmHead::classify)
    top.at("classes").fail("\"classes\" is for the classify head");
  if (top.has("head_activation")) {
    if (config.head != SpikeLmHead::mlm)
      top.at("head_activation").fail("\"head_activation\" is the mlm head's");
    config.head_activation = top.at("head_activation").choice({"relu", "gelu"}) == 0
                                 ? Activation::relu
                                 : Activation::gelu;
  }
  if (top.has("vocab")) top.at("vocab").string();
  try {
    return build_spikelm(config);
  } catch (const GraphError& error) {
    top.at("model").fail(error.what());
  }
}

struct Family {
  std::string_view name;
  std::vector<std::string_view> keys;
  ModelGraph (*build)(const Node&, const Shape&, const EncoderSpec&, std::optional<std::size_t>);
};

const Family kFamilies[] = {
    {"trevsnn",
     {"variant", "timesteps", "kernel_size", "channels", "classes"},
     &build_trevsnn_file},
    {"spikformer",
     {"variant", "embed_dims", "depths", "num_heads", "mlp_ratio", "timesteps", "classes",
      "token_pruning"},
     &build_spikformer_file},
    {"spike_driven_transformer",
     {"variant", "embed_dims", "depths", "num_heads", "mlp_ratio", "timesteps", "classes",
      "pooling_stat"},
     &build_spike_driven_file},
    {"spikelm",
     {"variant", "layers", "hidden", "heads", "intermediate", "timesteps", "vocabulary",
      "max_positions", "type_vocabulary", "layer_norm_eps", "head", "head_activation", "classes",
      "vocab"},
     &build_spikelm_file},
};

const Family& family_of(const Node& top) {
  const Node model = top.at("model");
  std::vector<std::string> names;
  for (const Family& family : kFamilies)
    names.emplace_back(family.name);
  return kFamilies[model.choice(names)];
}

}  // namespace

std::vector<std::string_view> model_family_keys(const Node& top) {
  return family_of(top).keys;
}

ModelGraph build_model_family(const Node& top, const Shape& input_shape, const EncoderSpec& encoder,
                              std::optional<std::size_t> timesteps) {
  return family_of(top).build(top, input_shape, encoder, timesteps);
}

}  // namespace snnsim
