#pragma once
// Model families in layer-graph network files: instead of "nodes", a file names a model the
// runtime builds (sim/graph/models/), with a few keys of its own:
//
//   {"format": "snnsim-network", "version": 1, "kind": "layer_graph",
//    "model": "trevsnn", "variant": "tiny", "timesteps": 4, "classes": 10,
//    "input": {"shape": [3, 32, 32]}, "weights": "trevsnn.safetensors"}
//
// docs/models/ documents each family's keys.
#include <optional>

#include "encoders/input_encoder.h"
#include "networks/json_node.h"
#include "sim/graph/models/spike_driven_transformer.h"
#include "sim/graph/models/spikelm.h"
#include "sim/graph/models/spikformer.h"
#include "sim/graph/models/trevsnn.h"

namespace snnsim {

/// The keys a model file may have besides the common ones (format, version, kind, description,
/// model, input, weights), for the family named by its "model".
std::vector<std::string_view> model_family_keys(const Node& top);

/// Builds the family named by top's "model" for an input of `input_shape` and `encoder` (as
/// the "input" key gave them). `timesteps` (-T) overrides the file's. Fails (NetworkFileError)
/// naming the key at fault.
ModelGraph build_model_family(const Node& top, const Shape& input_shape, const EncoderSpec& encoder,
                              std::optional<std::size_t> timesteps);

}  // namespace snnsim
