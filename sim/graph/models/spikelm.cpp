#include "sim/graph/models/spikelm.h"

#include <algorithm>

#include "sim/graph/neurons.h"
#include "sim/graph/ops/elementwise.h"
#include "sim/graph/ops/layout.h"
#include "sim/graph/ops/linear.h"

namespace snnsim {
namespace {

constexpr double kEncoderLayerNormEps = 1e-12;  // BertSelfOutput, BertOutput (hard-coded)

const NamedVariant<SpikeLmConfig> kVariants[] = {
    {"base", {12, 768, 12, 3072, 4, 30522, 512, 2, 1e-12, SpikeLmHead::mlm, Activation::relu, 2}},
};

/// The official modules' tensor names: a SpikeLinear's alpha per timestep is
/// "<module>.act_clip_val.<t>"; its weight_clip_val buffer is unused with 32-bit weights.
class SpikeLmChain : public GraphChain {
 public:
  SpikeLmChain(ModelGraph& model, std::size_t timesteps)
      : GraphChain(model), timesteps_(timesteps) {}

  /// SpikeLinear `module`: the elastic bi-spiking neuron `name`.spikes on `from`, then the linear
  /// layer `name`. Returns the linear layer.
  std::size_t spike_linear(const std::string& name, const std::string& module, std::size_t in,
                           std::size_t out, std::size_t from) {
    add(name + ".spikes", std::make_unique<TernaryLayer>(timesteps_, true), "", {from});
    model_.naming.renamed[name + ".spikes.alpha"] = module + ".act_clip_val";
    model_.naming.unused_prefixes.push_back(module + ".weight_clip_val");
    return add(name, std::make_unique<Linear>(LinearParameters{in, out, true}), module);
  }
  /// The stateless ternary quantizer `name` of K or V, its alpha "<module>.<alpha>.<t>".
  std::size_t ternary(const std::string& name, const std::string& module, const char* alpha,
                      std::size_t from) {
    model_.naming.renamed[name + ".alpha"] = module + "." + alpha;
    return add(name, std::make_unique<TernaryLayer>(timesteps_, false), "", {from});
  }
  std::size_t layer_norm(const std::string& name, double eps, const std::string& module,
                         std::size_t from) {
    return add(name, std::make_unique<LayerNorm>(eps), module, {from});
  }

 private:
  std::size_t timesteps_;
};

void check_config(const SpikeLmConfig& c) {
  if (c.heads == 0 || c.hidden % c.heads != 0) {
    throw GraphError("hidden " + std::to_string(c.hidden) + " is not a multiple of the " +
                     std::to_string(c.heads) + " heads");
  }
  if (c.vocabulary < 5) {
    throw GraphError("a vocabulary of " + std::to_string(c.vocabulary) +
                     " tokens cannot hold [PAD], [UNK], [CLS], [SEP] and [MASK]");
  }
}

}  // namespace

SpikeLmConfig spikelm_variant(std::string_view name) {
  return variant_named(kVariants, name, "SpikeLM");
}

std::vector<std::string> spikelm_variants() {
  return variant_names(kVariants);
}

ModelGraph build_spikelm(const SpikeLmConfig& c) {
  check_config(c);
  const std::size_t D = c.hidden;
  ModelGraph model;
  model.graph = std::make_unique<LayerGraph>(Shape{3, c.max_positions}, c.timesteps);
  SpikeLmChain chain(model, c.timesteps);
  WeightNaming& naming = model.naming;

  const std::size_t ids = chain.add("embeddings.ids", std::make_unique<Select>(0, 0), "", {0});
  const std::size_t types = chain.add("embeddings.types", std::make_unique<Select>(0, 1), "", {0});
  const std::size_t mask = chain.add("embeddings.mask", std::make_unique<Select>(0, 2), "", {0});
  const std::size_t word =
      chain.add("embeddings.word", std::make_unique<Embedding>(c.vocabulary, D),
                "bert.embeddings.word_embeddings", {ids});
  const std::size_t type =
      chain.add("embeddings.token_type", std::make_unique<Embedding>(c.type_vocabulary, D),
                "bert.embeddings.token_type_embeddings", {types});
  chain.add("embeddings.sum", std::make_unique<Add>(), "", {word, type});
  chain.add("embeddings.position", std::make_unique<PositionEmbedding>(c.max_positions, D),
            "bert.embeddings.position_embeddings");
  std::size_t h = chain.layer_norm("embeddings.norm", c.layer_norm_eps, "bert.embeddings.LayerNorm",
                                   chain.last());
  // Buffers of BertEmbeddings that older transformers versions save.
  naming.unused_prefixes.push_back("bert.embeddings.position_ids");
  naming.unused_prefixes.push_back("bert.embeddings.token_type_ids");

  for (std::size_t j = 0; j < c.layers; ++j) {
    const std::string layer = "layer" + std::to_string(j);
    const std::string module = "bert.encoder.layer." + std::to_string(j);
    const std::string self = module + ".attention.self";
    const std::size_t q = chain.spike_linear(layer + ".query", self + ".query", D, D, h);
    chain.spike_linear(layer + ".key", self + ".key", D, D, h);
    const std::size_t k = chain.ternary(layer + ".key.ternary", self, "clip_key", chain.last());
    chain.spike_linear(layer + ".value", self + ".value", D, D, h);
    const std::size_t v = chain.ternary(layer + ".value.ternary", self, "clip_value", chain.last());
    const std::size_t context =
        chain.add(layer + ".attention",
                  std::make_unique<Attention>(AttentionKind::softmax, c.heads, 0.0, true), "",
                  {q, k, v, mask});
    const std::size_t projected = chain.spike_linear(
        layer + ".attention_output", module + ".attention.output.dense", D, D, context);
    chain.add(layer + ".attention_output.add", std::make_unique<Add>(), "", {projected, h});
    const std::size_t a = chain.layer_norm(layer + ".attention_output.norm", kEncoderLayerNormEps,
                                           module + ".attention.output.LayerNorm", chain.last());
    chain.spike_linear(layer + ".intermediate", module + ".intermediate.dense", D, c.intermediate,
                       a);
    const std::size_t gelu =
        chain.add(layer + ".intermediate.gelu", std::make_unique<ActivationOp>(Activation::gelu));
    const std::size_t out =
        chain.spike_linear(layer + ".output", module + ".output.dense", c.intermediate, D, gelu);
    chain.add(layer + ".output.add", std::make_unique<Add>(), "", {out, a});
    h = chain.layer_norm(layer + ".output.norm", kEncoderLayerNormEps, module + ".output.LayerNorm",
                         chain.last());
  }
  const std::size_t hidden = chain.add(
      "encoder.mean", std::make_unique<Reduce>(ReduceKind::mean, Reduce::kTimesteps), "", {h});

  // The heads of the other models that checkpoints of the same encoder carry.
  const auto accept = [&naming](std::initializer_list<const char*> prefixes) {
    naming.unused_prefixes.insert(naming.unused_prefixes.end(), prefixes.begin(), prefixes.end());
  };
  switch (c.head) {
    case SpikeLmHead::mlm: {
      chain.add("mlm.transform", std::make_unique<Linear>(LinearParameters{D, D, true}),
                "cls.predictions.transform.dense", {hidden});
      chain.add("mlm.activation", std::make_unique<ActivationOp>(c.head_activation));
      chain.layer_norm("mlm.norm", c.layer_norm_eps, "cls.predictions.transform.LayerNorm",
                       chain.last());
      const std::size_t decoder = chain.add(
          "mlm.decoder", std::make_unique<Linear>(LinearParameters{D, c.vocabulary, true}), "");
      // Tied: the decoder's weight is the word embeddings, its bias cls.predictions.bias; the
      // state_dict repeats both under cls.predictions.decoder.
      naming.renamed["mlm.decoder.weight"] = "bert.embeddings.word_embeddings.weight";
      naming.renamed["mlm.decoder.bias"] = "cls.predictions.bias";
      naming.copies.resize(decoder + 1);
      naming.copies[decoder] = {"cls.predictions.decoder"};
      accept({"cls.seq_relationship.", "bert.pooler."});
      break;
    }
    case SpikeLmHead::classify:
      chain.add("pooler.first", std::make_unique<Select>(0, 0), "", {hidden});
      chain.add("pooler.dense", std::make_unique<Linear>(LinearParameters{D, D, true}),
                "bert.pooler.dense");
      chain.add("pooler.tanh", std::make_unique<ActivationOp>(Activation::tanh));
      chain.add("classifier", std::make_unique<Linear>(LinearParameters{D, c.classes, true}),
                "classifier");
      accept({"cls."});
      break;
    case SpikeLmHead::encoder:
      accept({"cls.", "bert.pooler.", "classifier."});
      break;
  }
  model.graph->set_output(chain.last());
  model.graph->bind();
  return model;
}

Value spikelm_input(std::span<const std::vector<std::uint32_t>> ids,
                    std::span<const std::vector<std::uint32_t>> types, std::uint32_t pad,
                    std::size_t timesteps) {
  std::size_t length = 1;
  for (const std::vector<std::uint32_t>& sequence : ids)
    length = std::max(length, sequence.size());
  Value x = Value::analog({3, length}, timesteps, ids.size());
  const std::size_t per_sample = 3 * length;
  for (std::size_t b = 0; b < ids.size(); ++b) {
    float* sample = x.dense.data() + b * per_sample;
    for (std::size_t n = 0; n < length; ++n) {
      const bool token = n < ids[b].size();
      sample[n] = static_cast<float>(token ? ids[b][n] : pad);
      sample[length + n] = token && !types.empty() ? static_cast<float>(types[b][n]) : 0.0f;
      sample[2 * length + n] = token ? 1.0f : 0.0f;
    }
  }
  const std::size_t per_step = ids.size() * per_sample;
  for (std::size_t t = 1; t < timesteps; ++t)
    std::copy_n(x.dense.begin(), per_step, x.dense.begin() + t * per_step);
  return x;
}

}  // namespace snnsim
