#include "sim/graph/layer_graph.h"

#include <limits>

#include "sim/graph/ops/elementwise.h"

namespace snnsim {
namespace {
constexpr std::size_t kUnconnected = std::numeric_limits<std::size_t>::max();
}

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
  for (std::size_t i = 1; i < nodes_.size(); ++i) {
    for (std::size_t slot = 0; slot < slots_[i].size(); ++slot) {
      if (slots_[i][slot] == kUnconnected) {
        throw GraphError("node " + nodes_[i].name + ": input " + std::to_string(slot) +
                         " is not connected");
      }
    }
    nodes_[i].inputs = slots_[i];
  }
  // Kahn's algorithm; what is left over lies on a cycle.
  std::vector<std::size_t> waiting(nodes_.size(), 0);
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    waiting[i] = nodes_[i].inputs.size();
  order_.clear();
  std::vector<std::size_t> ready{0};
  while (!ready.empty()) {
    const std::size_t n = ready.back();
    ready.pop_back();
    order_.push_back(n);
    for (std::size_t i = nodes_.size(); i-- > 1;) {
      for (std::size_t input : nodes_[i].inputs) {
        if (input == n && --waiting[i] == 0) ready.push_back(i);
      }
    }
  }
  if (order_.size() != nodes_.size()) {
    for (std::size_t i = 1; i < nodes_.size(); ++i) {
      if (waiting[i] > 0) {
        throw GraphError("node " + nodes_[i].name +
                         " is on a cycle or fed by one; recurrent graphs are not supported yet");
      }
    }
  }
  for (std::size_t n : order_) {
    GraphNode& node = nodes_[n];
    if (node.op == nullptr) continue;
    std::vector<Shape> shapes;
    for (std::size_t input : node.inputs)
      shapes.push_back(nodes_[input].shape);
    try {
      node.shape = node.op->bind(shapes);
    } catch (const GraphError& error) {
      throw GraphError("node " + node.name + " (" + std::string(node.op->kind()) +
                       "): " + error.what());
    }
  }
}

void LayerGraph::fold_batchnorms() {
  for (GraphNode& node : nodes_) {
    auto* norm = dynamic_cast<BatchNorm*>(node.op.get());
    if (norm == nullptr) continue;
    const std::size_t input = node.inputs[0];
    GraphNode& before = nodes_[input];
    std::size_t consumers = 0;
    for (const GraphNode& other : nodes_) {
      for (std::size_t i : other.inputs)
        consumers += i == input;
    }
    if (before.op == nullptr || consumers != 1 || before.op->affine_channels() != node.shape[0] ||
        input == output_) {
      continue;
    }
    std::vector<float> scale, shift;
    norm->affine(scale, shift);
    node.folded = before.op->fold_affine(scale, shift);
  }
}

GraphRun LayerGraph::run(const Value& input, bool keep_spikes, bool dense) const {
  // Values are released after their last consumer, so memory holds a few layers at a time.
  std::vector<std::size_t> remaining(nodes_.size(), 0);
  for (const GraphNode& node : nodes_) {
    for (std::size_t i : node.inputs)
      ++remaining[i];
  }
  std::vector<Value> values(nodes_.size());
  values[0] = input;
  GraphRun result;
  for (std::size_t n : order_) {
    const GraphNode& node = nodes_[n];
    if (node.op == nullptr) continue;
    NodeReport report;
    report.name = node.name;
    report.kind = node.op->kind();
    report.shape = node.shape;
    if (node.folded) {
      values[n] = values[node.inputs[0]];
      report.kind += " (folded)";
    } else {
      std::vector<const Value*> arguments;
      std::vector<Value> densified(node.inputs.size());
      for (std::size_t k = 0; k < node.inputs.size(); ++k) {
        const Value& argument = values[node.inputs[k]];
        if (dense && argument.is_spikes()) {
          densified[k] = Value::analog(argument.shape, argument.steps, argument.batch);
          densified[k].dense = argument.densified();
          arguments.push_back(&densified[k]);
        } else {
          arguments.push_back(&argument);
        }
      }
      values[n] = node.op->forward(arguments, report.counts);
    }
    const Value& value = values[n];
    if (value.is_spikes()) {
      const SpikeTrain& s = *value.spikes;
      report.spiking = true;
      report.spikes = s.events();
      report.per_step.assign(s.steps, 0);
      for (std::size_t f = 0; f < s.frames(); ++f)
        report.per_step[f / s.batch] += s.offsets[f + 1] - s.offsets[f];
      const double slots = static_cast<double>(s.features) * s.frames();
      report.firing_rate = slots > 0 ? report.spikes / slots : 0.0;
    }
    result.nodes.push_back(std::move(report));
    result.spike_values.push_back(keep_spikes && value.is_spikes() ? value : Value{});
    for (std::size_t i : node.inputs) {
      if (--remaining[i] == 0 && i != output_) values[i] = Value{};
    }
  }
  result.output = std::move(values[output_]);
  return result;
}

}  // namespace snnsim
