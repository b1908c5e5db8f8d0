#pragma once
// Layer graphs: deep SNNs (convolutional, transformer) as a DAG of operators run over T
// timesteps for a batch of B samples, layer by layer over all timesteps (spikingjelly's
// multi-step mode).
//
// The graph is assembled node by node (networks/layer_graph_file.h reads it from a network
// file), then finalised: sorted topologically, bound to shapes, BatchNorms folded into the
// linear or convolution before them. A run records per node the spike counts and the work done
// (MACs, ACs), from which the energy estimate of the SNN literature follows: 45 nm CMOS
// (Horowitz 2014), 4.6 pJ per MAC and 0.9 pJ per AC, overridable.
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sim/graph/layer_op.h"

namespace snnsim {

class Conv2d;
class LifLayer;

/// The value of its input at the previous timestep, zero (no spikes) at the first. Recurrence
/// goes through delay nodes (as NIR's Delay): a graph with them runs step by step, every node
/// once per timestep, and the edge into a delay does not order the nodes.
class Delay final : public LayerOp {
 public:
  explicit Delay(Shape shape) : shape_(std::move(shape)) {}
  std::string_view kind() const override { return "delay"; }
  bool is_delay() const override { return true; }
  Shape bind(std::span<const Shape>) override { return shape_; }
  /// Never called: the graph runs step by step when it has delays and feeds each delay node's
  /// consumers the previous step's value itself.
  Value forward(std::span<const Value* const>, OpCounts&) const override {
    throw GraphError("delay nodes run step by step");
  }

 private:
  Shape shape_;
};

struct GraphNode {
  std::string name;
  std::unique_ptr<LayerOp> op;  ///< null for the input node
  std::vector<std::size_t> inputs;
  Shape shape;  ///< output shape, per sample
  /// Set for a BatchNorm or channel scale folded into its input node: its output is that node's.
  bool folded = false;
  // When the node runs, in a graph run step by step (the column schedules of T-RevSNN; the
  // same in any graph): every timestep by default.
  /// The value is the same at every timestep, computed at the first and reused (a stem fed by a
  /// constant input). Its inputs are `once` nodes too, or the graph's constant input.
  bool once = false;
  /// Runs from this timestep on; before it, its value is zero (analog), as the path a first
  /// column lacks.
  std::size_t first_step = 0;
  /// Runs at the last timestep only (a readout of the final state): its consumers are too, or
  /// it is the output, whose value then has one timestep.
  bool final_step_only = false;
  /// Its value has one timestep: its operator collapses time, or every input has one.
  bool single_step = false;
  /// Whether the node computes at `step` of `steps` (a `once` node at the first only).
  bool computes_at(std::size_t step, std::size_t steps) const {
    return step >= first_step && (!final_step_only || step + 1 == steps) && (!once || step == 0);
  }
};

struct EnergyModel {
  double mac_pj = 4.6;
  double ac_pj = 0.9;
};

struct NodeReport {
  std::size_t node = 0;  ///< the node reported: its index in LayerGraph::nodes()
  std::string name;
  std::string kind;
  Shape shape;
  bool spiking = false;
  std::uint64_t spikes = 0;             ///< events (multi-level spikes count once)
  std::uint64_t negative = 0;           ///< events of negative level (ternary spikes' -1)
  std::vector<std::uint64_t> per_step;  ///< spikes per timestep
  std::size_t steps = 0;                ///< timesteps it ran (or holds, for a `once` node)
  OpCounts counts;
  double seconds = 0.0;  ///< wall time of the node's operator
  /// Spikes over (features x timesteps run x samples).
  double firing_rate = 0.0;
  double energy_pj(const EnergyModel& model) const {
    return counts.macs * model.mac_pj + counts.acs * model.ac_pj;
  }
};

/// What a run reports, per node: every node but the input, in the graph's node order (not the
/// execution order), as LayerGraph::blank_run() lays them out. A trace of the run records node
/// `nodes[k]` as its population k, so that spikes and counts are filed under their own node.
struct GraphRun {
  Value output;                     ///< the output node's value
  std::vector<NodeReport> nodes;    ///< nodes[k] reports LayerGraph::nodes()[k + 1]
  std::vector<Value> spike_values;  ///< per entry of `nodes`: its value if spiking and kept
  /// Per entry of `nodes`: its values at every timestep it ran, for the nodes a run was asked to
  /// keep (LayerGraph::run's `keep_values`: level states, membranes).
  std::vector<Value> kept_values;
  /// The report of graph node `node` (not the input).
  NodeReport& report_of(std::size_t node) { return nodes[node - 1]; }
  Value& spikes_of(std::size_t node) { return spike_values[node - 1]; }
};

/// How a weights file names the tensors of a graph's nodes.
struct WeightNaming {
  /// Per node, its tensor-name prefix (empty: its name): node `conv1` loads "conv1.weight".
  std::vector<std::string> prefixes;
  /// Per node (or empty), prefixes under which the file may hold copies of the node's tensors:
  /// a module shared by several parts of a PyTorch model is saved once per part. Each copy is
  /// checked to equal the tensor loaded.
  std::vector<std::vector<std::string>> copies;
  /// Tensors whose names start with one of these may be in the file unused (a model family's
  /// training-only heads).
  std::vector<std::string> unused_prefixes;
  /// Tensors named otherwise than their node's prefix gives: "<node>.<tensor>" -> the name in
  /// the file (a decoder tied to the word embeddings; a scale kept on another module).
  std::map<std::string, std::string> renamed;
};

class LayerGraph {
 public:
  /// The input node (index 0) has the per-sample shape of the inputs.
  LayerGraph(Shape input_shape, std::size_t timesteps);

  std::size_t add_node(std::string name, std::unique_ptr<LayerOp> op);
  /// Connects `from` to input slot `slot` of `to`.
  void connect(std::size_t from, std::size_t to, std::size_t slot);
  void set_output(std::size_t node) { output_ = node; }

  /// Sorts, binds shapes (throwing GraphError "node NAME: ..."), and checks arities.
  void bind();
  /// Binds the graph, weights loaded, to inputs of another shape: a language model's batch of
  /// texts of another length. Throws GraphError as bind(), e.g. for more tokens than positions.
  void rebind(Shape input_shape);
  /// Folds each BatchNorm or channel scale whose input is a linear or convolution feeding
  /// nothing else (and running at the same timesteps) into its weights. Call after the weights
  /// are set.
  void fold_affine_nodes();

  /// Runs `input` ([T][B][input features], or [1][B][...] for a constant input) through the
  /// graph: layer by layer over all timesteps, or step by step when the graph has delay or
  /// stepwise nodes or node schedules. `keep_spikes`: keep every
  /// spiking node's value in the result (for traces). `dense`: operators with an event path
  /// receive spikes as dense values and take their dense paths, as a PyTorch model would (for
  /// comparisons); every other node gives spikes where the event-driven run does.
  /// `keep_values`: nodes whose values (analog or spikes) the result keeps in kept_values.
  GraphRun run(const Value& input, bool keep_spikes, bool dense = false,
               std::span<const std::size_t> keep_values = {}) const;

  /// The values of `targets` at timestep `step`, computed from `given` (node, value of that
  /// step) through the nodes between them, as a run computes them at that step; nodes not yet
  /// started are zero. Every delay and the input a target depends on must be given. For running
  /// part of a step again: T-RevSNN's inverse recomputes each level from its neighbours' states.
  /// Stateful operators start from rest. Throws GraphError naming a missing node.
  std::vector<Value> evaluate_step(std::size_t step,
                                   std::vector<std::pair<std::size_t, Value>> given,
                                   std::span<const std::size_t> targets) const;

  /// A run's result before it runs: a report per node (GraphRun's order), named, with its kind
  /// ("(folded)" appended for a folded BatchNorm) and shape, its counts zero. Every runner starts
  /// from it, and traces declare their populations from it.
  GraphRun blank_run() const;

  std::size_t timesteps() const { return timesteps_; }
  const Shape& input_shape() const { return nodes_[0].shape; }
  std::vector<GraphNode>& nodes() { return nodes_; }
  const std::vector<GraphNode>& nodes() const { return nodes_; }
  const GraphNode& output() const { return nodes_[output_]; }
  int find(const std::string& name) const;
  /// Node indices in execution order, the input node first (set by bind()).
  const std::vector<std::size_t>& execution_order() const { return order_; }
  /// Whether the graph runs step by step: it has delay or stepwise nodes, or nodes that do not
  /// run at every timestep.
  bool runs_step_by_step() const { return step_by_step_; }
  /// The input is the same at every timestep (an image fed directly): runs take it as one
  /// timestep, and `once` nodes compute from it once. Set before bind().
  void set_constant_input(bool constant) { constant_input_ = constant; }
  bool constant_input() const { return constant_input_; }
  /// The timesteps of a run's output: T, fewer when the output node starts later, 1 when it runs
  /// at the last timestep only or follows a mean over the timesteps.
  std::size_t output_steps() const {
    const GraphNode& out = nodes_[output_];
    return out.final_step_only || out.single_step ? 1 : timesteps_ - out.first_step;
  }

 private:
  std::vector<GraphNode> nodes_;
  std::vector<std::vector<std::size_t>> slots_;      ///< per node, its inputs by slot (unsorted)
  std::vector<std::size_t> order_;                   ///< execution order
  std::vector<std::vector<std::size_t>> consumers_;  ///< per node, the nodes reading it
  /// Checks the nodes' schedules (GraphNode::once, first_step, final_step_only, stepwise
  /// operators) against each other and T; sets step_by_step_.
  void check_schedules();
  GraphRun run_step_by_step(const Value& input, bool keep_spikes, bool dense,
                            const std::vector<bool>& keep) const;
  /// The arguments of node `n` from `values`, spikes densified when `dense` and the node has an
  /// event path (LayerOp::has_event_path).
  std::vector<const Value*> arguments(std::size_t n, const std::vector<Value>& values, bool dense,
                                      std::vector<Value>& densified) const;
  /// A convolution and the neuron layer it alone feeds (through folded nodes), run as one.
  struct FusedNeurons {
    const Conv2d* conv = nullptr;
    const LifLayer* lif = nullptr;  ///< null: binary threshold neurons
    std::size_t neurons = 0;        ///< their node; 0: none
  };
  /// The neurons that node n, a convolution (at `step`, for a stepwise node), runs fused with
  /// on its arguments `args`: event-driven into a LIF layer (Conv2d::forward_into_lif, every
  /// timestep at once, so not step by step), or on the dense path into binary threshold neurons
  /// (Conv2d::forward_dense_into_threshold). None when a value between them is wanted (`keep`,
  /// the output) or read elsewhere.
  FusedNeurons fused_neurons(std::size_t n, std::size_t step, std::span<const Value* const> args,
                             const std::vector<bool>& keep, bool step_by_step) const;
  /// Runs node n with the neurons fused_neurons finds, if any: their spikes into `values`,
  /// they and the folded nodes between marked `computed`, the convolution's counts added to
  /// `counts`. False (nothing done) when there are none.
  bool run_fused(std::size_t n, std::size_t step, std::span<const Value* const> args,
                 const std::vector<bool>& keep, bool step_by_step, std::vector<Value>& values,
                 std::vector<bool>& computed, OpCounts& counts) const;
  /// Adds `value`'s spikes to `report`.
  static void count_spikes(const Value& value, std::size_t first_step, NodeReport& report);

  std::size_t output_ = 0;
  std::size_t timesteps_;
  bool step_by_step_ = false;
  bool constant_input_ = false;
};

}  // namespace snnsim
