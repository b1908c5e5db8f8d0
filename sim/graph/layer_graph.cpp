#include "sim/graph/layer_graph.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include "sim/graph/neurons.h"
#include "sim/graph/ops/conv.h"
#include "sim/graph/ops/elementwise.h"
#include "sim/graph/stepwise_op.h"

namespace snnsim {
namespace {
constexpr std::size_t kUnconnected = std::numeric_limits<std::size_t>::max();

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// `steps` timesteps without a spike, of the kind of `like` (one timestep of spikes).
Value silent_steps(const Value& like, std::size_t steps) {
  SpikeTrain s;
  s.kind = like.spikes->kind;
  s.steps = steps;
  s.batch = like.batch;
  s.features = like.spikes->features;
  if (!like.spikes->amplitude.empty()) s.amplitude.assign(steps, like.spikes->scale(0));
  for (std::size_t f = 0; f < s.frames(); ++f)
    s.close_frame();
  return Value::of_spikes(like.shape, std::move(s));
}
}  // namespace

LayerGraph::LayerGraph(Shape input_shape, std::size_t timesteps) : timesteps_(timesteps) {
  nodes_.push_back({"input", nullptr, {}, std::move(input_shape)});
  slots_.emplace_back();
}

std::size_t LayerGraph::add_node(std::string name, std::unique_ptr<LayerOp> op) {
  const std::size_t arity = op->arity();
  nodes_.push_back({std::move(name), std::move(op), {}, {}});
  slots_.emplace_back(arity, kUnconnected);
  return nodes_.size() - 1;
}

void LayerGraph::connect(std::size_t from, std::size_t to, std::size_t slot) {
  GraphNode& node = nodes_[to];
  if (node.op == nullptr) throw GraphError("nothing can feed the input node");
  if (slot >= slots_[to].size()) {
    throw GraphError("node " + node.name + " (" + std::string(node.op->kind()) + ") takes " +
                     std::to_string(slots_[to].size()) + " input(s)");
  }
  if (slots_[to][slot] != kUnconnected) {
    throw GraphError("node " + node.name + ": input " + std::to_string(slot) +
                     " is connected twice");
  }
  slots_[to][slot] = from;
}

int LayerGraph::find(const std::string& name) const {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

void LayerGraph::bind() {
  // Operators precompute tables for their input's shape: the input's size is checked first.
  try {
    check_tensor_size("the input", nodes_[0].shape);
  } catch (const GraphError& error) {
    throw GraphError(std::string("input: ") + error.what());
  }
  for (std::size_t i = 1; i < nodes_.size(); ++i) {
    for (std::size_t slot = 0; slot < slots_[i].size(); ++slot) {
      if (slots_[i][slot] == kUnconnected) {
        throw GraphError("node " + nodes_[i].name + ": input " + std::to_string(slot) +
                         " is not connected");
      }
    }
    nodes_[i].inputs = slots_[i];
  }
  // Kahn's algorithm over the edges that order nodes (all but those into delay nodes); what
  // is left over lies on a cycle without a delay.
  step_by_step_ = constant_input_;
  const auto ordering = [this](std::size_t node) {
    return nodes_[node].op == nullptr || !nodes_[node].op->is_delay();
  };
  std::vector<std::size_t> waiting(nodes_.size(), 0);
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    waiting[i] = ordering(i) ? nodes_[i].inputs.size() : 0;
    step_by_step_ |= !ordering(i);
  }
  order_.clear();
  std::vector<std::size_t> ready{0};
  for (std::size_t i = nodes_.size(); i-- > 1;) {
    if (!ordering(i)) ready.push_back(i);
  }
  while (!ready.empty()) {
    const std::size_t n = ready.back();
    ready.pop_back();
    order_.push_back(n);
    for (std::size_t i = nodes_.size(); i-- > 1;) {
      if (!ordering(i)) continue;
      for (std::size_t input : nodes_[i].inputs) {
        if (input == n && --waiting[i] == 0) ready.push_back(i);
      }
    }
  }
  consumers_.assign(nodes_.size(), {});
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    for (std::size_t input : nodes_[i].inputs)
      consumers_[input].push_back(i);
  }
  if (order_.size() != nodes_.size()) {
    for (std::size_t i = 1; i < nodes_.size(); ++i) {
      if (waiting[i] > 0) {
        throw GraphError("node " + nodes_[i].name +
                         " is on a cycle (or fed by one) without a delay node; recurrence needs "
                         "a delay");
      }
    }
  }
  for (std::size_t n : order_) {
    GraphNode& node = nodes_[n];
    if (node.op == nullptr) continue;
    std::vector<Shape> shapes;
    for (std::size_t input : node.inputs)
      shapes.push_back(nodes_[input].shape);
    node.single_step = node.op->collapses_time() ||
                       std::all_of(node.inputs.begin(), node.inputs.end(),
                                   [this](std::size_t i) { return nodes_[i].single_step; });
    try {
      node.shape = node.op->bind(shapes);
      check_tensor_size("the output", node.shape);
      for (const WeightSpec& weight : node.op->weight_specs())
        check_tensor_size("the tensor '" + weight.name + "'", weight.shape);
    } catch (const GraphError& error) {
      throw GraphError("node " + node.name + " (" + std::string(node.op->kind()) +
                       "): " + error.what());
    }
  }
  check_schedules();
  for (const GraphNode& node : nodes_) {
    if (node.op != nullptr && node.op->is_delay() && nodes_[node.inputs[0]].shape != node.shape) {
      throw GraphError("node " + node.name + " (delay): declared shape " +
                       shape_string(node.shape) + " but its input " + nodes_[node.inputs[0]].name +
                       " has shape " + shape_string(nodes_[node.inputs[0]].shape));
    }
  }
}

void LayerGraph::rebind(Shape input_shape) {
  nodes_[0].shape = std::move(input_shape);
  bind();
}

void LayerGraph::check_schedules() {
  for (std::size_t n = 1; n < nodes_.size(); ++n) {
    const GraphNode& node = nodes_[n];
    const auto fail = [&node](const std::string& why) {
      throw GraphError("node " + node.name + " (" + std::string(node.op->kind()) + "): " + why);
    };
    if (node.op->varies_with_step()) {
      step_by_step_ = true;
      const auto& stepwise = static_cast<const StepwiseOp&>(*node.op);
      if (stepwise.steps() != timesteps_) {
        fail("holds operators for " + std::to_string(stepwise.steps()) +
             " timesteps; the graph runs " + std::to_string(timesteps_));
      }
      if (stepwise.first_step() > node.first_step)
        fail("has no operator for timestep " + std::to_string(node.first_step));
    }
    step_by_step_ |= node.once || node.first_step > 0 || node.final_step_only;
    if (node.first_step >= timesteps_) {
      fail("starts at timestep " + std::to_string(node.first_step) + " of " +
           std::to_string(timesteps_));
    }
    if (node.once) {
      if (node.first_step > 0 || node.final_step_only || node.op->varies_with_step())
        fail("a node computed once runs at every timestep with one operator");
      for (std::size_t i : node.inputs) {
        if (i == 0 ? !constant_input_ : !nodes_[i].once)
          fail("is computed once, but its input " + nodes_[i].name + " changes over time");
      }
    }
    for (std::size_t i : node.inputs) {
      if (i > 0 && nodes_[i].final_step_only && !node.final_step_only)
        fail("runs before the last timestep, but its input " + nodes_[i].name + " does not");
    }
  }
  for (const GraphNode& node : nodes_) {
    if (step_by_step_ && node.op && node.op->needs_all_steps()) {
      throw GraphError("node " + node.name + " (" + std::string(node.op->kind()) +
                       ") needs every timestep at once, but the graph runs step by step (it has "
                       "delays, stepwise operators or node schedules)");
    }
  }
}

void LayerGraph::fold_affine_nodes() {
  for (GraphNode& node : nodes_) {
    if (node.op == nullptr || node.inputs.size() != 1) continue;
    const std::size_t input = node.inputs[0];
    GraphNode& before = nodes_[input];
    if (before.op == nullptr || consumers_[input].size() != 1 ||
        before.op->channel_axis() != node.op->channel_axis() ||
        before.op->affine_channels() != node.shape[node.op->channel_axis()] || input == output_ ||
        before.once != node.once || before.first_step != node.first_step ||
        before.final_step_only != node.final_step_only) {
      continue;
    }
    node.folded = node.op->fold_into(*before.op);
  }
}

std::vector<const Value*> LayerGraph::arguments(std::size_t n, const std::vector<Value>& values,
                                                bool dense, std::vector<Value>& densified) const {
  const GraphNode& node = nodes_[n];
  std::vector<const Value*> result;
  densified.resize(node.inputs.size());
  for (std::size_t k = 0; k < node.inputs.size(); ++k) {
    const Value& argument = values[node.inputs[k]];
    if (dense && argument.is_spikes() && node.op->has_event_path()) {
      densified[k] = Value::analog(argument.shape, argument.steps, argument.batch);
      densified[k].dense = argument.densified();
      result.push_back(&densified[k]);
    } else {
      result.push_back(&argument);
    }
  }
  return result;
}

void LayerGraph::count_spikes(const Value& value, std::size_t first_step, NodeReport& report) {
  report.steps += value.steps;
  if (!value.is_spikes()) return;
  const SpikeTrain& s = *value.spikes;
  report.spiking = true;
  report.spikes += s.events();
  report.negative += static_cast<std::uint64_t>(
      std::count_if(s.levels.begin(), s.levels.end(), [](std::int8_t level) { return level < 0; }));
  report.per_step.resize(first_step + s.steps, 0);
  for (std::size_t f = 0; f < s.frames(); ++f)
    report.per_step[first_step + f / s.batch] += s.offsets[f + 1] - s.offsets[f];
  const double slots = static_cast<double>(s.features) * s.batch * report.steps;
  report.firing_rate = slots > 0 ? report.spikes / slots : 0.0;
}

GraphRun LayerGraph::blank_run() const {
  GraphRun run;
  for (std::size_t n = 1; n < nodes_.size(); ++n) {
    NodeReport report;
    report.node = n;
    report.name = nodes_[n].name;
    report.kind = std::string(nodes_[n].op->kind()) + (nodes_[n].folded ? " (folded)" : "");
    report.shape = nodes_[n].shape;
    run.nodes.push_back(std::move(report));
  }
  run.spike_values.resize(run.nodes.size());
  run.kept_values.resize(run.nodes.size());
  return run;
}

GraphRun LayerGraph::run(const Value& input, bool keep_spikes, bool dense,
                         std::span<const std::size_t> keep_values) const {
  std::vector<bool> keep(nodes_.size(), false);
  for (std::size_t n : keep_values)
    keep.at(n) = true;
  if (constant_input_ && input.steps != 1) {
    throw GraphError("the input is constant: expected one timestep of it, found " +
                     std::to_string(input.steps));
  }
  if (step_by_step_) return run_step_by_step(input, keep_spikes, dense, keep);
  // Values are released after their last consumer, so memory holds a few layers at a time.
  std::vector<std::size_t> remaining(nodes_.size(), 0);
  for (const GraphNode& node : nodes_) {
    for (std::size_t i : node.inputs)
      ++remaining[i];
  }
  std::vector<Value> values(nodes_.size());
  values[0] = input;
  // Nodes whose value a fused convolution and neuron layer already computed (the neurons, and
  // the folded nodes between them, which hold nothing).
  std::vector<bool> computed(nodes_.size(), false);
  GraphRun result = blank_run();
  for (std::size_t n : order_) {
    const GraphNode& node = nodes_[n];
    if (node.op == nullptr) continue;
    NodeReport& report = result.report_of(n);
    if (computed[n]) {
      // Done with the convolution before it.
    } else if (node.folded) {
      // A folded BatchNorm is its input's only consumer (fold_batchnorms checks): take the value.
      values[n] = std::move(values[node.inputs[0]]);
    } else {
      const auto start = std::chrono::steady_clock::now();
      std::vector<Value> densified;
      const std::vector<const Value*> args = arguments(n, values, dense, densified);
      if (!run_fused(n, 0, args, keep, false, values, computed, report.counts))
        values[n] = node.op->forward(args, report.counts);
      report.seconds = seconds_since(start);  // with fused neurons, theirs included
    }
    count_spikes(values[n], 0, report);
    if (keep_spikes && values[n].is_spikes()) result.spikes_of(n) = values[n];
    if (keep[n]) result.kept_values[n - 1] = values[n];
    for (std::size_t i : node.inputs) {
      if (--remaining[i] == 0 && i != output_) values[i] = Value{};
    }
  }
  result.output = std::move(values[output_]);
  return result;
}

LayerGraph::FusedNeurons LayerGraph::fused_neurons(std::size_t n, std::size_t step,
                                                   std::span<const Value* const> args,
                                                   const std::vector<bool>& keep,
                                                   bool step_by_step) const {
  const GraphNode& node = nodes_[n];
  const auto* stepwise = dynamic_cast<const StepwiseOp*>(node.op.get());
  const auto* conv = dynamic_cast<const Conv2d*>(stepwise ? &stepwise->at(step) : node.op.get());
  if (conv == nullptr) return {};
  const Value& input = *args[0];
  // Follow the only consumer, through folded nodes (already in the weights), to the neurons; on
  // the way, no value may be wanted on its own, and every node must run when n does.
  for (std::size_t k = n;;) {
    if (k == output_ || keep[k] || consumers_[k].size() != 1) return {};
    k = consumers_[k][0];
    const GraphNode& next = nodes_[k];
    if (next.once != node.once || next.first_step != node.first_step ||
        next.final_step_only != node.final_step_only) {
      return {};
    }
    if (next.folded) continue;
    const auto* lif = dynamic_cast<const LifLayer*>(next.op.get());
    const auto* threshold = dynamic_cast<const ThresholdLayer*>(next.op.get());
    if (lif && !step_by_step && conv->takes_event_path(input)) return {conv, lif, k};
    if (threshold && threshold->levels() == 1 && conv->takes_dense_path(input))
      return {conv, nullptr, k};
    return {};
  }
}

bool LayerGraph::run_fused(std::size_t n, std::size_t step, std::span<const Value* const> args,
                           const std::vector<bool>& keep, bool step_by_step,
                           std::vector<Value>& values, std::vector<bool>& computed,
                           OpCounts& counts) const {
  const FusedNeurons fused = fused_neurons(n, step, args, keep, step_by_step);
  if (fused.neurons == 0) return false;
  values[fused.neurons] = Value::of_spikes(
      nodes_[fused.neurons].shape,
      fused.lif ? fused.conv->forward_into_lif(*args[0]->spikes, *fused.lif, counts)
                : fused.conv->forward_dense_into_threshold(*args[0], counts));
  for (std::size_t k = fused.neurons; k != n; k = nodes_[k].inputs[0])
    computed[k] = true;
  return true;
}

GraphRun LayerGraph::run_step_by_step(const Value& input, bool keep_spikes, bool dense,
                                      const std::vector<bool>& keep) const {
  const std::size_t steps = constant_input_ ? timesteps_ : input.steps;
  // Within a step a value is released after its last reader; what a delay reads waits for the
  // next step in `carried`, and `once` values stay. Memory so holds one timestep of the nodes
  // being worked on, whatever T is.
  std::vector<std::size_t> readers(nodes_.size(), 0);
  std::vector<std::vector<std::size_t>> delays_of(nodes_.size());
  for (std::size_t n = 1; n < nodes_.size(); ++n) {
    for (std::size_t i : nodes_[n].inputs) {
      if (nodes_[n].op->is_delay()) {
        delays_of[i].push_back(n);
      } else {
        ++readers[i];
      }
    }
  }
  const auto kept_through_step = [&](std::size_t n) {
    return nodes_[n].once || !delays_of[n].empty() || n == output_;
  };
  std::vector<Value> current(nodes_.size()), carried(nodes_.size());
  std::vector<StepContext> contexts(nodes_.size());
  GraphRun result = blank_run();
  for (std::size_t t = 0; t < steps; ++t) {
    std::vector<std::size_t> left = readers;
    std::vector<bool> computed(nodes_.size(), false);  // by fused neurons, as in run()
    current[0] = input.steps == 1 ? input : input.step(t);
    for (std::size_t n : order_) {
      const GraphNode& node = nodes_[n];
      if (node.op == nullptr) continue;
      NodeReport& report = result.report_of(n);
      const bool runs = node.computes_at(t, steps);
      if (!runs) {
        // A `once` value stays; before its first step a node is zero; a final-step node has no
        // value before the last step (its readers run at the last step only).
        if (!node.once && !node.final_step_only)
          current[n] = Value::analog(node.shape, 1, input.batch);
      } else if (node.op->is_delay()) {
        // The source's value at t - 1; at t = 0 an analog zero.
        current[n] = t > 0 ? std::move(carried[n]) : Value::analog(node.shape, 1, input.batch);
      } else if (computed[n]) {
        // Done with the convolution before it.
      } else if (node.folded) {
        current[n] = std::move(current[node.inputs[0]]);
      } else {
        contexts[n].step = t;
        const auto start = std::chrono::steady_clock::now();
        std::vector<Value> densified;
        const std::vector<const Value*> args = arguments(n, current, dense, densified);
        if (!run_fused(n, t, args, keep, true, current, computed, report.counts))
          current[n] = node.op->forward_step(args, report.counts, contexts[n]);
        report.seconds += seconds_since(start);
      }
      if (runs) {
        count_spikes(current[n], t, report);
        if (keep_spikes && current[n].is_spikes()) {
          Value& kept = result.spikes_of(n);
          // Spikes keep their own timesteps: silent ones stand for the steps before.
          if (kept.steps == 0 && t > 0) kept = silent_steps(current[n], t);
          kept.append_step(current[n]);
        }
        if (keep[n]) result.kept_values[n - 1].append_step(current[n]);
      }
      if (node.op->is_delay()) continue;
      for (std::size_t i : node.inputs) {
        if (--left[i] == 0 && !kept_through_step(i)) current[i] = Value{};
      }
    }
    const GraphNode& output = nodes_[output_];
    if (t >= output.first_step && (!output.final_step_only || t + 1 == steps))
      result.output.append_step(current[output_]);
    for (std::size_t n = 0; n < nodes_.size(); ++n) {
      for (std::size_t k = 0; k < delays_of[n].size(); ++k) {
        const bool last = k + 1 == delays_of[n].size() && !nodes_[n].once;
        carried[delays_of[n][k]] = last ? std::move(current[n]) : current[n];
      }
      if (!nodes_[n].once) current[n] = Value{};
    }
  }
  return result;
}

std::vector<Value> LayerGraph::evaluate_step(std::size_t step,
                                             std::vector<std::pair<std::size_t, Value>> given,
                                             std::span<const std::size_t> targets) const {
  std::vector<Value> values(nodes_.size());
  std::vector<bool> known(nodes_.size(), false), needed(nodes_.size(), false);
  std::size_t batch = 0;
  for (auto& [node, value] : given) {
    batch = value.batch;
    values.at(node) = std::move(value);
    known[node] = true;
  }
  // The nodes between the given ones and the targets.
  std::vector<std::size_t> pending(targets.begin(), targets.end());
  while (!pending.empty()) {
    const std::size_t n = pending.back();
    pending.pop_back();
    if (known[n] || needed[n]) continue;
    if (n == 0 || nodes_[n].op->is_delay())
      throw GraphError("evaluating a step needs the value of node " + nodes_[n].name);
    needed[n] = true;
    pending.insert(pending.end(), nodes_[n].inputs.begin(), nodes_[n].inputs.end());
  }
  for (std::size_t n : order_) {
    if (!needed[n]) continue;
    const GraphNode& node = nodes_[n];
    if (step < node.first_step) {
      values[n] = Value::analog(node.shape, 1, batch);
    } else if (node.folded) {
      values[n] = values[node.inputs[0]];
    } else {
      StepContext context;
      context.step = step;
      OpCounts counts;
      std::vector<Value> unused;
      values[n] = node.op->forward_step(arguments(n, values, false, unused), counts, context);
    }
  }
  std::vector<Value> result;
  for (std::size_t n : targets)
    result.push_back(values[n]);
  return result;
}

}  // namespace snnsim
