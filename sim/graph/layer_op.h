#pragma once
// The operator interface of layer graphs: every node of a graph (a convolution, a pooling, a
// neuron layer) is a LayerOp. An operator is bound to its inputs' shapes once, when the graph is
// built, which fixes its output shape and the weight tensors it needs; it then runs over all T x B
// frames of its inputs at once (spikingjelly's multi-step mode).
//
// Operators fed by spikes take their event-driven path (work proportional to the spikes, counted
// as accumulates, ACs); fed by analog values, their dense path (counted as multiply-accumulates,
// MACs). The counts feed the energy estimate (sim/graph/layer_graph.h).
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "sim/graph/value.h"
#include "sim/limits.h"

namespace snnsim {

/// A graph that cannot be built or run: shapes that do not fit, weights that are missing or
/// mis-shaped. One line; the graph file reader adds the file and the node.
class GraphError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Throws GraphError when `shape` has more elements than limits::kTensorElements; `what` names
/// the tensor ("the output"). Operators call it before they allocate for a shape.
inline void check_tensor_size(const std::string& what, const Shape& shape) {
  if (limits::product_exceeds(shape, limits::kTensorElements)) {
    throw GraphError(what + " " + shape_string(shape) + " has more than " +
                     limits::power_of_two(limits::kTensorElements) +
                     " elements, the limit of one tensor");
  }
}

struct OpCounts {
  std::uint64_t macs = 0;  ///< multiply-accumulates of analog inputs
  std::uint64_t acs = 0;   ///< accumulates driven by spikes (synaptic operations)
};

/// A tensor an operator loads from the weights file, named relative to its node ("weight" is
/// looked up as "<node>.weight" unless the file maps it).
struct WeightSpec {
  std::string name;
  Shape shape;
  bool optional = false;
  /// `name` is the tensor's whole name in the file, not relative to the node (operators that
  /// hold one operator per timestep, each with its own names: StepwiseOp).
  bool full_name = false;
};

/// What an operator carries from one timestep to the next when a graph runs step by step (graphs
/// with delay nodes): the timestep about to run and its state (membranes).
struct StepContext {
  std::size_t step = 0;
  std::vector<float> state[2];
};

class LayerOp {
 public:
  virtual ~LayerOp() = default;
  virtual std::string_view kind() const = 0;
  /// Number of inputs (1, or 2 for a residual add).
  virtual std::size_t arity() const { return 1; }
  /// Checks the inputs' per-sample shapes and returns the output's. Throws GraphError saying
  /// what was expected. A graph whose input length varies (texts) binds again for each batch
  /// (LayerGraph::rebind): binding keeps the weights already set.
  virtual Shape bind(std::span<const Shape> inputs) = 0;
  /// The tensors this operator loads (known once bound).
  virtual std::vector<WeightSpec> weight_specs() const { return {}; }
  virtual void set_weight(const std::string& /*name*/, std::vector<float> /*values*/) {}
  /// Multiplies output channel c by scale[c] and adds shift[c], into the weights (BatchNorm
  /// folded at load time). Returns false if this operator cannot absorb it.
  virtual bool fold_affine(std::span<const float> /*scale*/, std::span<const float> /*shift*/) {
    return false;
  }
  /// Output channels a following BatchNorm would scale (0: not foldable).
  virtual std::size_t affine_channels() const { return 0; }
  /// The axis of the output's shape those channels lie on (a linear layer's last, a
  /// convolution's first), or for a per-channel operator (BatchNorm, scale) the axis it scales.
  virtual std::size_t channel_axis() const { return 0; }
  /// For a per-channel affine map (BatchNorm, a channel scale): folds itself into `before`, the
  /// operator feeding it alone, by before.fold_affine. Returns false if either cannot.
  virtual bool fold_into(LayerOp& /*before*/) const { return false; }
  /// Whether the operator differs from one timestep to the next (StepwiseOp): a graph with one
  /// runs step by step.
  virtual bool varies_with_step() const { return false; }
  /// Whether its output at any timestep depends on its inputs at every timestep (a choice of
  /// tokens made from all timesteps' scores): it cannot run in a graph run step by step.
  virtual bool needs_all_steps() const { return false; }
  /// Whether its output has one timestep whatever its inputs' (a mean over the timesteps, a
  /// choice of tokens made from all of them).
  virtual bool collapses_time() const { return false; }
  /// Runs over every frame of the inputs.
  virtual Value forward(std::span<const Value* const> inputs, OpCounts& counts) const = 0;
  /// Runs one timestep (inputs of one step), carrying state in `context`: the step-by-step
  /// schedule. Operators without state across timesteps need not override it.
  virtual Value forward_step(std::span<const Value* const> inputs, OpCounts& counts,
                             StepContext& /*context*/) const {
    return forward(inputs, counts);
  }
  /// Whether spikes take a path of their own here, with other arithmetic than on analog values
  /// and counted as ACs (linear, conv2d, spiking attention): the path that --dense replaces by
  /// the dense one. Every other operator gives the same values from spikes as from their dense
  /// form and keeps spikes as spikes (flatten, max pooling, add), so --dense feeds it spikes as
  /// they are and its output is recorded as the event-driven run's.
  virtual bool has_event_path() const { return false; }
  /// Delay nodes output their input's value of the previous timestep (zero at the first). Their
  /// input edge is not an ordering dependency, which is how a graph expresses recurrence.
  virtual bool is_delay() const { return false; }
};

}  // namespace snnsim
