#pragma once
// What every model family builder (sim/graph/models/) returns, and its table of named variants.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sim/graph/layer_graph.h"

namespace snnsim {

/// A model family's graph (bound, weights not loaded) and how its weights file names tensors.
struct ModelGraph {
  std::unique_ptr<LayerGraph> graph;
  WeightNaming naming;
};

/// Adds nodes to a model's graph in a chain, keeping the weight naming in step.
class GraphChain {
 public:
  explicit GraphChain(ModelGraph& model) : model_(model) {}
  /// `op` fed by `inputs` (default: the node added last); its tensors under `prefix`.
  std::size_t add(std::string name, std::unique_ptr<LayerOp> op, std::string prefix = "",
                  std::vector<std::size_t> inputs = {}) {
    LayerGraph& graph = *model_.graph;
    if (inputs.empty()) inputs = {last_};
    const std::size_t n = graph.add_node(std::move(name), std::move(op));
    for (std::size_t slot = 0; slot < inputs.size(); ++slot)
      graph.connect(inputs[slot], n, slot);
    model_.naming.prefixes.resize(n + 1);
    model_.naming.prefixes[n] = std::move(prefix);
    return last_ = n;
  }
  std::size_t last() const { return last_; }

 protected:
  ModelGraph& model_;

 private:
  std::size_t last_ = 0;
};

/// A configuration of the official code under its name ("tiny", "cifar").
template <class Config>
struct NamedVariant {
  const char* name;
  Config config;
};

/// The configuration called `name`; GraphError naming the `family` otherwise.
template <class Config, std::size_t N>
Config variant_named(const NamedVariant<Config> (&variants)[N], std::string_view name,
                     std::string_view family) {
  for (const NamedVariant<Config>& variant : variants) {
    if (variant.name == name) return variant.config;
  }
  throw GraphError("unknown " + std::string(family) + " variant '" + std::string(name) + "'");
}

template <class Config, std::size_t N>
std::vector<std::string> variant_names(const NamedVariant<Config> (&variants)[N]) {
  std::vector<std::string> names;
  for (const NamedVariant<Config>& variant : variants)
    names.emplace_back(variant.name);
  return names;
}

}  // namespace snnsim
