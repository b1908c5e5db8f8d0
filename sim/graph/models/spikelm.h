#pragma once
// SpikeLM (Xing, Zhang, Ni, Xiao, Ju, Fan, Wang, Zhang, Li; ICML 2024, "SpikeLM: Towards General
// Spike-Driven Language Modeling via Elastic Bi-Spiking Mechanisms"; github Xingrun-Xing/SpikeLM,
// spikeLM-BERT/spike_bert.py and spiking.py): a BERT encoder whose every linear layer is fed
// elastic bi-directional spikes {-1, 0, +1} x alpha_t, over T copies of the embedded input.
//
//   input:       [3, L] per text: token ids, token type ids, attention mask (1 token, 0 padding)
//   embeddings:  LayerNorm(word[id] + type[type] + position[n]), eps layer_norm_eps; T copies
//   per layer:   q = W_q EB_q(h) + b (real); k = TQ_k(W_k EB_k(h) + b); v = TQ_v(W_v EB_v(h) + b)
//                a = LayerNorm_1e-12(W_o EB_o(softmax(q k^T / sqrt(d_h), padding masked) v) + h)
//                h = LayerNorm_1e-12(W_2 EB_2(GELU(W_1 EB_1(a) + b_1)) + b_2 + a)
//   output:      the mean over T of the last h [L, D], then a head:
//     mlm        W_dec LayerNorm(act(W_t x + b_t)) + b_dec, W_dec tied to the word embeddings,
//                act ReLU (the official pre-training sets hidden_act "relu")
//     classify   W_c tanh(W_p x[0] + b_p) + b_c (BertForSequenceClassification2)
//     encoder    no head: the hidden states
//
// EB is the elastic bi-spiking neuron (TernaryLayer, elastic) and TQ the stateless ternary
// quantizer, each with its own alpha per timestep; the linear layers they feed add and subtract
// weight columns and scale by alpha once per output. The sequence length is free: the graph is
// bound for max_positions tokens and rebound (LayerGraph::rebind) to each batch's length.
//
// Node names (weights under the official state_dict keys, prefix bert.encoder.layer.{j}):
//   embeddings.{ids, types, mask, word, token_type, sum, position, norm}
//   layer{j}.{query, key, value, attention_output, intermediate, output}: the linear layers,
//     each fed by layer{j}.<name>.spikes; layer{j}.key.ternary, layer{j}.value.ternary;
//     layer{j}.attention; layer{j}.attention_output.{add, norm}; layer{j}.intermediate.gelu;
//     layer{j}.output.{add, norm}
//   encoder.mean; mlm.{transform, activation, norm, decoder}; pooler.{first, dense, tanh},
//   classifier
#include "sim/graph/models/model_graph.h"
#include "sim/graph/ops/transformer.h"

namespace snnsim {

enum class SpikeLmHead { mlm, classify, encoder };

struct SpikeLmConfig {
  std::size_t layers = 12, hidden = 768, heads = 12, intermediate = 3072;
  std::size_t timesteps = 4;
  std::size_t vocabulary = 30522, max_positions = 512, type_vocabulary = 2;
  /// The embeddings' and the MLM transform's LayerNorm (BertConfig.layer_norm_eps); the
  /// encoder's are 1e-12 in the official code whatever the configuration says.
  double layer_norm_eps = 1e-12;
  SpikeLmHead head = SpikeLmHead::mlm;
  Activation head_activation = Activation::relu;
  std::size_t classes = 2;
};

/// "base": the official run's BERT-base (run_pretrain.py with bert-base-uncased's config.json:
/// 12 layers, 768 wide, 12 heads, FFN 3072, T 4, 30522 tokens, 512 positions).
SpikeLmConfig spikelm_variant(std::string_view name);
std::vector<std::string> spikelm_variants();

/// Builds the graph of `config`, bound to max_positions tokens; throws GraphError, one line.
ModelGraph build_spikelm(const SpikeLmConfig& config);

/// The input a SpikeLM graph takes for a batch of token sequences: [T][B][3, L], L the longest,
/// shorter ones padded with `pad` (mask 0). `types` may be empty (all 0) or one per sequence.
Value spikelm_input(std::span<const std::vector<std::uint32_t>> ids,
                    std::span<const std::vector<std::uint32_t>> types, std::uint32_t pad,
                    std::size_t timesteps);

}  // namespace snnsim
