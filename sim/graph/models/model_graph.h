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
