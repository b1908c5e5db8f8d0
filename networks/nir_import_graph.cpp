// NIR graphs as layer graphs (docs/export.md, "Importing NIR", "Layer graphs"): each primitive
// becomes the layer-graph op that computes what NIR's conventions say it computes, at the time
// step dt, with its tensors in the HDF5 file next to the network file.
//
// The translation runs in four passes over the graph:
//   1. nested NIRGraphs are flattened (a node "b" of graph "a" becomes "a.b"), their Input and
//      Output nodes dropped in favour of edges straight through them;
//   2. every node's shape follows from the Input's, breadth first along the edges;
//   3. a depth-first walk from the Input finds the edges that close a cycle without a Delay;
//      each cycle then reads the previous step through a one-step delay node, inserted before
//      the stateless nodes that end the cycle;
//   4. every node is written as one or more layer-graph nodes: the sum of its inputs (add
//      nodes, NIR sums the edges into a node), then its op(s).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <deque>
#include <map>
#include <set>

#include "networks/nir_import.h"
#include "sim/graph/nir_neurons.h"
#include "sim/limits.h"
#include "sim/units.h"

namespace snnsim {
namespace {

using nir::Array;
using nir::NirError;

/// The timesteps a network runs for when neither the graph's metadata nor the command line says:
/// NIR defines none.
constexpr std::size_t kDefaultTimesteps = 100;

/// The most elements a node's shape may have (a layer graph's, sim/limits.h), and the most steps
/// a Delay may delay by: bounds on sizes read from the file, so that a malformed one is refused
/// instead of exhausting memory.
constexpr std::size_t kMaxElements = limits::kTensorElements;
constexpr double kMaxDelaySteps = 65536;

/// How close two parameters must be, relatively, to count as equal when choosing an exact op
/// (float32 parameters written from float64 ones, e.g. r = tau / dt).
constexpr double kSameParameter = 1e-6;

/// "0.001 s".
std::string seconds(double value) {
  return message_number(value) + " s";
}

bool same(double a, double b) {
  return std::fabs(a - b) <= kSameParameter * std::max(std::fabs(a), std::fabs(b));
}

/// Whether a neuron node's metadata asks for a soft reset ("reset": "subtract", as snnsim export
/// nir --approximate writes it); NIR itself resets to v_reset.
bool subtract_reset(const nir::Node& node) {
  const auto it = node.metadata.find("reset");
  const std::string* mode =
      it == node.metadata.end() ? nullptr : std::get_if<std::string>(&it->second);
  return mode != nullptr && *mode == "subtract";
}

/// Whether `shape` has sizes of at least 1 and at most kMaxElements elements.
bool within_limits(const Shape& shape) {
  std::size_t elements = 1;
  for (std::size_t size : shape) {
    if (size < 1 || size > kMaxElements / elements) return false;
    elements *= size;
  }
  return true;
}

/// Whether `value` is a whole number from `low` to `high` (false for NaN).
bool whole(double value, double low, double high) {
  return value >= low && value <= high && value == std::floor(value);
}

/// A node of the flattened graph.
struct FlatNode {
  const nir::Node* node = nullptr;
  std::string where;      ///< "/node/nodes/a/nodes/b", for messages
  bool boundary = false;  ///< the Input or Output of a nested graph: passes its input on
};

struct FlatGraph {
  std::map<std::string, FlatNode> nodes;
  std::vector<std::pair<std::string, std::string>> edges;
};

class GraphImporter {
 public:
  GraphImporter(const nir::Graph& graph, std::string source, std::string tensors_file,
                const NirImportOptions& options)
      : graph_(graph),
        source_(std::move(source)),
        tensors_file_(std::move(tensors_file)),
        options_(options) {}

  ImportedNetwork run();

 private:
  [[noreturn]] void fail(const std::string& where, const std::string& what) const {
    throw NirError(source_ + ": " + where + ": " + what);
  }
  const FlatNode& flat(const std::string& name) const { return flat_.nodes.at(name); }

  void flatten(const nir::Graph& graph, const std::string& prefix, const std::string& where,
               bool top);
  std::string resolve(const nir::Graph& graph, const std::string& prefix, const std::string& end,
                      bool source, const std::string& where) const;
  void drop_boundaries();
  double time_step() const;
  std::size_t timesteps() const;
  std::string encoder() const;
  void infer_shapes();
  Shape output_shape(const std::string& name, const Shape& in) const;
  /// Field `field` of node `name`, one number or one per axis, along `axis`: a whole number from
  /// 0 to kMaxElements (kernel sizes, strides, padding, groups).
  std::size_t size_along(const std::string& name, const std::string& field, std::size_t axis) const;
  /// Field `field` of node `name`: one whole number, negative ones counting from the end
  /// (Flatten's dimensions).
  long dimension_index(const std::string& name, const std::string& field) const;
  void find_back_edges();
  std::pair<std::string, std::string> delayed_edge(std::pair<std::string, std::string> edge) const;
  void emit(const std::string& name);
  std::vector<std::string> inputs_of(const std::string& name);
  std::string claim(std::string name);
  void add_tensor(const std::string& name, Shape shape, std::vector<double> values);
  /// `parameter` of node `name`, one value per element of its shape (a single value broadcast).
  std::vector<double> per_element(const std::string& name, const std::string& parameter) const;
  void emit_neuron(const std::string& name, nlohmann::json node);
  bool emit_exact_neuron(const std::string& name, nlohmann::json& node);
  void emit_conv(const std::string& name, nlohmann::json node, bool one_dimensional);
  /// The shape of what feeds node `name`.
  const Shape& input_shape(const std::string& name) const;

  const nir::Graph& graph_;
  std::string source_, tensors_file_;
  const NirImportOptions& options_;
  double dt_ = 0;
  FlatGraph flat_;
  std::string input_;   ///< the graph's Input node
  std::string output_;  ///< the layer node whose value is the graph's Output
  std::map<std::string, Shape> shapes_;
  std::vector<std::string> order_;  ///< breadth first from the Input
  /// The edges that read the previous step: one per cycle without a Delay (delayed_edge).
  std::set<std::pair<std::string, std::string>> back_edges_;
  std::map<std::string, std::string> exit_;     ///< NIR node -> the layer node it ends in
  std::map<std::string, std::string> delayed_;  ///< NIR node -> its inserted one-step delay
  std::set<std::string> names_;
  nlohmann::json nodes_ = nlohmann::json::array();
  ImportedNetwork result_;
};

void GraphImporter::flatten(const nir::Graph& graph, const std::string& prefix,
                            const std::string& where, bool top) {
  for (const auto& [name, node] : graph.nodes) {
    const std::string place = where + "/nodes/" + name;
    if (node.type == "NIRGraph") {
      flatten(*node.graph, prefix + name + ".", place, false);
      continue;
    }
    const auto [it, added] = flat_.nodes.emplace(
        prefix + name,
        FlatNode{&node, place, !top && (node.type == "Input" || node.type == "Output")});
    if (!added) {
      fail(place, "its flattened name '" + it->first + "' is also that of " + it->second.where);
    }
  }
  for (std::size_t e = 0; e < graph.edges.size(); ++e) {
    const std::string place = where + "/edges/" + std::to_string(e);
    flat_.edges.emplace_back(resolve(graph, prefix, graph.edges[e].first, true, place),
                             resolve(graph, prefix, graph.edges[e].second, false, place));
  }
}

/// The flattened name of edge end `end` of `graph`: a nested graph as a source is its Output
/// node, as a target its Input node; "a.b" is node b of nested graph a.
std::string GraphImporter::resolve(const nir::Graph& graph, const std::string& prefix,
                                   const std::string& end, bool source,
                                   const std::string& where) const {
  if (const auto it = graph.nodes.find(end); it != graph.nodes.end()) {
    if (it->second.type != "NIRGraph") return prefix + end;
    const char* wanted = source ? "Output" : "Input";
    std::vector<std::string> found;
    for (const auto& [name, node] : it->second.graph->nodes) {
      if (node.type == wanted) found.push_back(name);
    }
    if (found.size() != 1) {
      fail(where, "the nested graph '" + end + "' has " + std::to_string(found.size()) + " " +
                      wanted + " nodes; an edge " + (source ? "from" : "to") +
                      " it needs exactly one");
    }
    return resolve(*it->second.graph, prefix + end + ".", found[0], source, where);
  }
  const std::size_t dot = end.find('.');
  if (dot != std::string::npos) {
    const auto it = graph.nodes.find(end.substr(0, dot));
    if (it != graph.nodes.end() && it->second.graph) {
      return resolve(*it->second.graph, prefix + it->first + ".", end.substr(dot + 1), source,
                     where);
    }
  }
  fail(where, "no node named '" + end + "'");
}

/// Replaces every edge through a nested graph's Input or Output node by edges around it.
void GraphImporter::drop_boundaries() {
  for (auto it = flat_.nodes.begin(); it != flat_.nodes.end();) {
    if (!it->second.boundary) {
      ++it;
      continue;
    }
    const std::string& node = it->first;
    std::vector<std::string> from;
    for (const auto& [a, b] : flat_.edges) {
      if (b == node) from.push_back(a);
    }
    std::vector<std::pair<std::string, std::string>> edges;
    for (const auto& edge : flat_.edges) {
      if (edge.second == node) continue;
      if (edge.first != node) {
        edges.push_back(edge);
        continue;
      }
      for (const std::string& a : from)
        edges.emplace_back(a, edge.second);
    }
    flat_.edges = std::move(edges);
    it = flat_.nodes.erase(it);
  }
}

double GraphImporter::time_step() const {
  if (options_.dt_s) return *options_.dt_s;
  const auto it = graph_.metadata.find("dt");
  const Array* dt = it == graph_.metadata.end() ? nullptr : std::get_if<Array>(&it->second);
  if (dt == nullptr) {
    fail("/node/metadata",
         "no time step \"dt\"; NIR's time constants need one: pass --dt, the "
         "writer's own (" +
             nir_writer_time_steps() + ")");
  }
  if (dt->size() != 1 || !(dt->values[0] > 0)) {
    fail("/node/metadata/dt", "expected one positive number of seconds");
  }
  return dt->values[0];
}

/// The metadata's "encoder" (snnsim export nir writes the network's), else "sequence": graphs
/// from other tools take a time series, one frame per step.
std::string GraphImporter::encoder() const {
  const auto it = graph_.metadata.find("encoder");
  if (it == graph_.metadata.end()) return "sequence";
  const std::string* name = std::get_if<std::string>(&it->second);
  if (name == nullptr || (*name != "direct" && *name != "sequence")) {
    fail("/node/metadata/encoder", "expected \"direct\" or \"sequence\"");
  }
  return *name;
}

/// The metadata's "timesteps" (snnsim export nir writes the network's), else kDefaultTimesteps.
std::size_t GraphImporter::timesteps() const {
  const auto it = graph_.metadata.find("timesteps");
  if (it == graph_.metadata.end()) return kDefaultTimesteps;
  const Array* steps = std::get_if<Array>(&it->second);
  if (steps == nullptr || steps->size() != 1 || !(steps->values[0] >= 1) ||
      steps->values[0] != std::floor(steps->values[0]) || steps->values[0] > 65536) {
    fail("/node/metadata/timesteps", "expected a whole number of timesteps from 1 to 65536");
  }
  return static_cast<std::size_t>(steps->values[0]);
}

void GraphImporter::infer_shapes() {
  for (const auto& [a, b] : flat_.edges) {
    if (flat(b).node->type == "Input") {
      fail(flat(b).where, "an edge leads into the Input node (from " + a + ")");
    }
    if (flat(a).node->type == "Output") {
      fail(flat(a).where, "an edge leaves the Output node (to " + b + ")");
    }
  }
  const FlatNode& input = flat(input_);
  const Array& declared = input.node->array("shape", source_ + ": " + input.where);
  Shape& shape = shapes_[input_];
  for (double size : declared.values) {
    if (!whole(size, 1, kMaxElements)) break;
    shape.push_back(static_cast<std::size_t>(size));
  }
  if (shape.empty() || shape.size() != declared.size() || !within_limits(shape)) {
    fail(input.where + "/shape", "expected a non-empty shape of whole positive sizes, of at most " +
                                     std::to_string(kMaxElements) + " elements");
  }
  std::deque<std::string> queue{input_};
  while (!queue.empty()) {
    const std::string from = queue.front();
    queue.pop_front();
    order_.push_back(from);
    for (const auto& [a, b] : flat_.edges) {
      if (a != from || shapes_.count(b)) continue;
      const Shape out = output_shape(b, shapes_.at(a));
      if (!within_limits(out)) {
        fail(flat(b).where, "its output would have the shape " + shape_string(out) +
                                "; expected sizes of at least 1 and at most " +
                                std::to_string(kMaxElements) + " elements");
      }
      shapes_[b] = out;
      queue.push_back(b);
    }
  }
  for (const auto& [name, node] : flat_.nodes) {
    if (!shapes_.count(name)) fail(node.where, "not reachable from the Input node " + input_);
  }
  // NIR sums the edges into a node: they must all bring one shape.
  std::map<std::string, std::string> first;
  for (const auto& [a, b] : flat_.edges) {
    const auto [it, inserted] = first.emplace(b, a);
    if (!inserted && shapes_.at(it->second) != shapes_.at(a)) {
      fail(flat(b).where,
           "its inputs have different shapes: " + shape_string(shapes_.at(it->second)) + " from " +
               it->second + " and " + shape_string(shapes_.at(a)) + " from " + a);
    }
  }
}

std::size_t GraphImporter::size_along(const std::string& name, const std::string& field,
                                      std::size_t axis) const {
  const FlatNode& f = flat(name);
  const Array& a = f.node->array(field, source_ + ": " + f.where);
  const double value = a.size() == 1 ? a.values[0] : axis < a.size() ? a.values[axis] : -1;
  if (!whole(value, 0, kMaxElements)) {
    fail(f.where + "/" + field, "expected whole numbers from 0 to " + std::to_string(kMaxElements) +
                                    ", one or one per axis");
  }
  return static_cast<std::size_t>(value);
}

long GraphImporter::dimension_index(const std::string& name, const std::string& field) const {
  const FlatNode& f = flat(name);
  const Array& a = f.node->array(field, source_ + ": " + f.where);
  if (a.size() != 1 || !whole(a.values[0], -1e6, 1e6)) {
    fail(f.where + "/" + field, "expected one whole number");
  }
  return static_cast<long>(a.values[0]);
}

Shape GraphImporter::output_shape(const std::string& name, const Shape& in) const {
  const FlatNode& f = flat(name);
  const nir::Node& node = *f.node;
  const std::string where = source_ + ": " + f.where;
  const std::string& type = node.type;
  const auto expect = [&](bool ok, const std::string& what) {
    if (!ok) fail(f.where, what + "; its input has shape " + shape_string(in));
  };
  if (type == "Affine" || type == "Linear") {
    const Array& w = node.array("weight", where);
    expect(w.shape.size() == 2, "expected a 2-D weight [out, in]");
    expect(in.back() == w.shape[1], "the weight takes " + std::to_string(w.shape[1]) + " inputs");
    Shape out = in;
    out.back() = w.shape[0];
    return out;
  }
  if (type == "Conv1d" || type == "Conv2d" || type == "SumPool2d" || type == "AvgPool2d") {
    const bool conv = type.starts_with("Conv");
    const std::size_t axes = type == "Conv1d" ? 1 : 2;
    expect(in.size() == axes + 1,
           "expected an input of " + std::to_string(axes + 1) + " dimensions");
    Shape out{in[0]};
    if (conv) {
      const Array& w = node.array("weight", where);
      expect(w.shape.size() == axes + 2,
             "expected a weight of " + std::to_string(axes + 2) + " dimensions");
      const std::size_t groups = size_along(name, "groups", 0);
      expect(groups >= 1 && w.shape[1] * groups == in[0] && w.shape[0] % groups == 0,
             "the weight " + shape_string(w.shape) + " with " + std::to_string(groups) +
                 " groups does not fit");
      out[0] = w.shape[0];
    }
    const std::string* padding_mode = std::get_if<std::string>(&node.fields.at("padding"));
    if (padding_mode && *padding_mode != "same" && *padding_mode != "valid") {
      fail(f.where + "/padding", "expected numbers, \"valid\" or \"same\"");
    }
    for (std::size_t a = 0; a < axes; ++a) {
      const std::size_t k =
          conv ? node.array("weight", where).shape[2 + a] : size_along(name, "kernel_size", a);
      const std::size_t s = size_along(name, "stride", a);
      const std::size_t d = conv ? size_along(name, "dilation", a) : 1;
      const std::size_t p = padding_mode ? 0 : size_along(name, "padding", a);
      const bool same = padding_mode && *padding_mode == "same";
      expect(k >= 1 && s >= 1 && d >= 1 && in[1 + a] + 2 * p >= d * (k - 1) + 1,
             "the kernel, stride and dilation do not fit");
      out.push_back(same ? in[1 + a] : (in[1 + a] + 2 * p - d * (k - 1) - 1) / s + 1);
    }
    return out;
  }
  if (type == "Flatten") {
    const long dims = static_cast<long>(in.size());
    long start = dimension_index(name, "start_dim");
    long end = dimension_index(name, "end_dim");
    if (start < 0) start += dims;
    if (end < 0) end += dims;
    expect(0 <= start && start <= end && end < dims,
           "start_dim and end_dim must name dimensions of the input, in order");
    if (node.has("input_type")) {
      // Compared as numbers: the file's may be anything, sizes or not.
      const Array& declared = node.array("input_type", where);
      if (!std::equal(declared.values.begin(), declared.values.end(), in.begin(), in.end(),
                      [](double d, std::size_t size) { return d == static_cast<double>(size); })) {
        std::string text;
        for (double d : declared.values)
          text += (text.empty() ? "" : ", ") + message_number(d);
        expect(false, "its input_type is [" + text + "]");
      }
    }
    Shape out(in.begin(), in.begin() + start);
    out.push_back(element_count(Shape(in.begin() + start, in.begin() + end + 1)));
    out.insert(out.end(), in.begin() + end + 1, in.end());
    return out;
  }
  // Element-wise primitives and neurons keep the shape; their arrays give one value per element.
  for (const auto& [field, value] : node.fields) {
    const auto* array = std::get_if<Array>(&value);
    if (type == "Input" || type == "Output" || array == nullptr) continue;
    expect(array->size() == 1 || array->size() == element_count(in),
           "'" + field + "' has " + std::to_string(array->size()) +
               " values; expected one per element or a single one");
  }
  return in;
}

/// Depth-first from the Input (edges in file order) and from every Delay, not following edges
/// into a Delay: an edge to a node on the walk's stack closes a cycle without a Delay. The walk
/// keeps its own stack, so that a long chain of nodes cannot overflow the call stack.
void GraphImporter::find_back_edges() {
  enum class State { unseen, open, done };
  std::map<std::string, State> state;
  const auto visit = [&](const std::string& start) {
    // The open nodes, each with the index of the next edge to look at.
    std::vector<std::pair<std::string, std::size_t>> stack{{start, 0}};
    state[start] = State::open;
    while (!stack.empty()) {
      auto& [n, next] = stack.back();
      if (next == flat_.edges.size()) {
        state[n] = State::done;
        stack.pop_back();
        continue;
      }
      const auto& [a, b] = flat_.edges[next++];
      if (a != n || flat(b).node->type == "Delay") continue;
      if (state[b] == State::open) {
        const auto delayed = delayed_edge({a, b});
        back_edges_.insert(delayed);
        result_.notes.push_back("the edge " + a + " -> " + b +
                                " closes a cycle without a Delay: it reads the previous step "
                                "(a one-step delay is inserted on " +
                                delayed.first + " -> " + delayed.second + ")");
      } else if (state[b] == State::unseen) {
        state[b] = State::open;
        stack.emplace_back(b, 0);
      }
    }
  };
  visit(input_);
  for (const std::string& n : order_) {
    if (flat(n).node->type == "Delay" && state[n] == State::unseen) visit(n);
  }
}

/// Where the one-step delay of back edge `edge` goes: before the stateless nodes (weights,
/// pooling, Flatten, Scale, Threshold) that end the cycle, as long as each has one input and
/// feeds only the next. Before the first step the neurons' outputs are 0 and these nodes compute
/// from them, so an Affine on the cycle gives its bias in the first step, as snnTorch's recurrent
/// layers do (`recurrent(spk)` with the spikes at 0), where a delay after it would give 0.
std::pair<std::string, std::string> GraphImporter::delayed_edge(
    std::pair<std::string, std::string> edge) const {
  static const std::set<std::string> kStateless = {"Affine",    "Linear",  "Scale",
                                                   "Conv1d",    "Conv2d",  "SumPool2d",
                                                   "AvgPool2d", "Flatten", "Threshold"};
  std::set<std::string> passed;
  for (;;) {
    const std::string& node = edge.first;
    if (!kStateless.count(flat(node).node->type) || !passed.insert(node).second) return edge;
    std::vector<std::pair<std::string, std::string>> in;
    std::size_t out = 0;
    for (const auto& e : flat_.edges) {
      if (e.second == node) in.push_back(e);
      out += e.first == node;
    }
    if (in.size() != 1 || out != 1) return edge;
    edge = in[0];
  }
}

std::string GraphImporter::claim(std::string name) {
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '-' && ch != '.')
      ch = '_';
  }
  // "input" names the graph input in layer graphs.
  while (name == "input" || names_.count(name))
    name += "_";
  names_.insert(name);
  return name;
}

void GraphImporter::add_tensor(const std::string& name, Shape shape, std::vector<double> values) {
  Hdf5Array array;
  array.shape = std::move(shape);
  array.values = std::move(values);
  result_.tensors.emplace_back(name, std::move(array));
}

std::vector<double> GraphImporter::per_element(const std::string& name,
                                               const std::string& parameter) const {
  const std::size_t n = element_count(shapes_.at(name));
  const nir::Node& node = *flat(name).node;
  // NIR's readers take a missing v_reset as zeros (it was added in nir 1.0.5).
  if (parameter == "v_reset" && !node.has("v_reset")) return std::vector<double>(n, 0.0);
  const Array& a = node.array(parameter, source_ + ": " + flat(name).where);
  return a.size() == 1 ? std::vector<double>(n, a.values[0]) : a.values;
}

/// The layer nodes that feed NIR node `name` (several edges are summed by add nodes, named
/// NAME.sum1, ...): their names.
std::vector<std::string> GraphImporter::inputs_of(const std::string& name) {
  std::vector<std::string> from;
  for (const auto& [a, b] : flat_.edges) {
    if (b != name) continue;
    std::string exit = exit_.at(a);
    if (back_edges_.count({a, b})) {
      // One delay node per source, shared by its edges that close cycles.
      auto [it, added] = delayed_.emplace(a, "");
      if (added) {
        it->second = claim(exit + ".previous");
        nodes_.push_back(
            {{"name", it->second}, {"op", "delay"}, {"shape", shapes_.at(a)}, {"inputs", {exit}}});
      }
      exit = it->second;
    }
    from.push_back(exit);
  }
  for (std::size_t k = 1; from.size() > 1; ++k) {
    const std::string sum = claim(exit_.at(name) + ".sum" + std::to_string(k));
    nodes_.push_back({{"name", sum}, {"op", "add"}, {"inputs", {from[0], from[1]}}});
    from.erase(from.begin(), from.begin() + 2);
    from.insert(from.begin(), sum);
  }
  return from;
}

void GraphImporter::emit(const std::string& name) {
  const nir::Node& node = *flat(name).node;
  const std::string& type = node.type;
  const std::string& where = flat(name).where;
  const std::string at = source_ + ": " + where;
  const Shape& shape = shapes_.at(name);
  const std::string self = exit_.at(name);
  nlohmann::json layer = {{"name", self}, {"inputs", inputs_of(name)}};
  if (type == "Output") {
    // The output is the sum of what feeds it: an add node named after it, or its one source.
    output_ = layer["inputs"][0];
    return;
  }
  if (type == "Affine" || type == "Linear") {
    const Array& w = node.array("weight", at);
    layer["op"] = "linear";
    layer["in_features"] = w.shape[1];
    layer["out_features"] = w.shape[0];
    layer["bias"] = type == "Affine";
    add_tensor(self + ".weight", w.shape, w.values);
    if (type == "Affine") {
      const Array& b = node.array("bias", at);
      if (b.size() != w.shape[0] && b.size() != 1) {
        fail(where + "/bias", "expected " + std::to_string(w.shape[0]) + " values or one");
      }
      add_tensor(self + ".bias", {w.shape[0]},
                 b.size() == 1 ? std::vector<double>(w.shape[0], b.values[0]) : b.values);
    }
  } else if (type == "Conv1d" || type == "Conv2d") {
    emit_conv(name, layer, type == "Conv1d");
    return;
  } else if (type == "SumPool2d" || type == "AvgPool2d") {
    if (!std::holds_alternative<Array>(node.fields.at("padding"))) {
      fail(where + "/padding", "expected numbers");
    }
    layer["op"] = type == "SumPool2d" ? "sumpool2d" : "avgpool2d";
    const auto both_axes = [&](const char* field) {
      return nlohmann::json{size_along(name, field, 0), size_along(name, field, 1)};
    };
    layer["kernel"] = both_axes("kernel_size");
    layer["stride"] = both_axes("stride");
    layer["padding"] = both_axes("padding");
  } else if (type == "Flatten") {
    if (shape.size() == 1) {
      layer["op"] = "flatten";
    } else {
      layer["op"] = "reshape";
      layer["shape"] = shape;
    }
  } else if (type == "Scale") {
    const std::vector<double> scale = per_element(name, "scale");
    // Factors uniform over each channel are the per-channel `scale` op.
    const std::size_t channel = element_count(shape) / shape[0];
    bool per_channel = true;
    for (std::size_t k = 0; k < scale.size(); ++k)
      per_channel &= scale[k] == scale[k - k % channel];
    if (per_channel) {
      std::vector<double> factors;
      for (std::size_t c = 0; c < shape[0]; ++c)
        factors.push_back(scale[c * channel]);
      layer["op"] = "scale";
      add_tensor(self + ".scale", {shape[0]}, factors);
    } else {
      layer["op"] = "nir_scale";
      add_tensor(self + ".scale", shape, scale);
    }
  } else if (type == "Threshold") {
    const std::vector<double> threshold = per_element(name, "threshold");
    // The threshold op, round(clamp(x, 0, 1)), is 1 exactly where x > 0.5.
    if (std::all_of(threshold.begin(), threshold.end(), [](double t) { return t == 0.5; })) {
      layer["op"] = "threshold";
    } else {
      layer["op"] = "nir_threshold";
      add_tensor(self + ".threshold", shape, threshold);
    }
  } else if (type == "Delay") {
    const std::vector<double> delays = per_element(name, "delay");
    const double steps = std::round(delays[0] / dt_);
    if (!(steps >= 1)) {
      fail(where + "/delay", "a delay of " + seconds(delays[0]) + " is under half a step (dt " +
                                 seconds(dt_) + "); expected at least one step");
    }
    if (steps > kMaxDelaySteps) {
      fail(where + "/delay", "a delay of " + seconds(delays[0]) + " is more than " +
                                 std::to_string(static_cast<long>(kMaxDelaySteps)) +
                                 " steps of dt " + seconds(dt_));
    }
    for (double d : delays) {
      if (std::round(d / dt_) != steps) {
        fail(where + "/delay",
             "delays of different numbers of steps per element are not supported "
             "(a layer-graph delay delays every element alike)");
      }
    }
    // k steps: a chain of k one-step delay nodes, NAME.1 ... NAME.(k-1), then NAME.
    for (std::size_t k = 1; k < static_cast<std::size_t>(steps); ++k) {
      const std::string link = claim(self + "." + std::to_string(k));
      nodes_.push_back(
          {{"name", link}, {"op", "delay"}, {"shape", shape}, {"inputs", layer["inputs"]}});
      layer["inputs"] = {link};
    }
    layer["op"] = "delay";
    layer["shape"] = shape;
  } else if (type == "LIF" || type == "IF" || type == "CubaLIF" || type == "LI" ||
             type == "CubaLI" || type == "I") {
    emit_neuron(name, layer);
    return;
  } else {
    fail(where, "the primitive " + type + " cannot be imported into a layer graph");
  }
  nodes_.push_back(layer);
}

const Shape& GraphImporter::input_shape(const std::string& name) const {
  for (const auto& [a, b] : flat_.edges) {
    if (b == name) return shapes_.at(a);
  }
  return shapes_.at(name);
}

void GraphImporter::emit_conv(const std::string& name, nlohmann::json layer, bool one_dimensional) {
  const nir::Node& node = *flat(name).node;
  const std::string& where = flat(name).where;
  const std::string at = source_ + ": " + where;
  const Array& w = node.array("weight", at);
  const std::size_t axes = one_dimensional ? 1 : 2;
  std::size_t padding[2] = {0, 0}, strides[2] = {1, 1}, kernel[2] = {1, 1};
  for (std::size_t a = 0; a < axes; ++a) {
    // A Conv1d runs as a conv2d over [C, 1, L]: its axis is the width.
    const std::size_t axis = one_dimensional ? 1 : a;
    if (const std::size_t dilation = size_along(name, "dilation", a); dilation != 1) {
      fail(where + "/dilation",
           "a dilation of " + std::to_string(dilation) + " is not supported (conv2d has none)");
    }
    kernel[axis] = w.shape[2 + a];
    strides[axis] = size_along(name, "stride", a);
    const nir::Field& pad = node.fields.at("padding");
    if (std::holds_alternative<Array>(pad)) {
      padding[axis] = size_along(name, "padding", a);
    } else if (std::get<std::string>(pad) == "same") {
      // PyTorch pads (k - 1) / 2 on each side for "same", and more on one side for an even k.
      if (strides[axis] != 1 || kernel[axis] % 2 == 0) {
        fail(where + "/padding", "\"same\" padding with stride " + std::to_string(strides[axis]) +
                                     " and kernel " + std::to_string(kernel[axis]) +
                                     " pads unevenly, which conv2d does not support");
      }
      padding[axis] = (kernel[axis] - 1) / 2;
    }
  }
  const std::size_t out_channels = w.shape[0];
  const Shape& in = input_shape(name);
  const std::string self = layer["name"];
  std::string conv = self;
  if (one_dimensional) {
    const std::string before = claim(self + ".in");
    nodes_.push_back({{"name", before},
                      {"op", "reshape"},
                      {"shape", {in[0], 1, in[1]}},
                      {"inputs", layer["inputs"]}});
    conv = claim(self + ".conv");
    layer["inputs"] = {before};
  }
  layer["name"] = conv;
  layer["op"] = "conv2d";
  layer["in_channels"] = in[0];
  layer["out_channels"] = out_channels;
  layer["kernel"] = {kernel[0], kernel[1]};
  layer["stride"] = {strides[0], strides[1]};
  layer["padding"] = {padding[0], padding[1]};
  layer["groups"] = size_along(name, "groups", 0);
  layer["bias"] = true;
  nodes_.push_back(layer);
  Shape shape{out_channels, w.shape[1], kernel[0], kernel[1]};
  add_tensor(conv + ".weight", shape, w.values);
  const Array& b = node.array("bias", at);
  if (b.size() != out_channels && b.size() != 1) {
    fail(where + "/bias", "expected " + std::to_string(out_channels) + " values or one");
  }
  add_tensor(conv + ".bias", {out_channels},
             b.size() == 1 ? std::vector<double>(out_channels, b.values[0]) : b.values);
  if (one_dimensional) {
    nodes_.push_back(
        {{"name", self}, {"op", "reshape"}, {"shape", shapes_.at(name)}, {"inputs", {conv}}});
  }
}

/// NIR's LIF and IF as the `lif` and `if` ops when these compute the same steps (docs/export.md):
/// uniform parameters, the membrane starting and resting where the op's does, and the input
/// scaled as the op scales it.
bool GraphImporter::emit_exact_neuron(const std::string& name, nlohmann::json& layer) {
  const std::string& type = flat(name).node->type;
  if (type != "LIF" && type != "IF") return false;
  const auto uniform = [&](const char* parameter, double& value) {
    const std::vector<double> values = per_element(name, parameter);
    value = values[0];
    return std::all_of(values.begin(), values.end(), [&](double v) { return v == value; });
  };
  double r = 0, threshold = 0, reset = 0, leak = 0, tau = 0;
  if (!uniform("r", r) || !uniform("v_threshold", threshold) || !uniform("v_reset", reset)) {
    return false;
  }
  const bool subtract = subtract_reset(*flat(name).node);
  // The ops start at v_reset (0 for a soft reset) and leak towards it.
  const double rest = subtract ? 0.0 : reset;
  if (type == "IF") {
    if (!same(r * dt_, 1.0) || rest != 0.0) return false;
    layer["op"] = "if";
  } else {
    if (!uniform("tau", tau) || !uniform("v_leak", leak) || leak != rest || !(tau > 0)) {
      return false;
    }
    const double steps = tau / dt_;
    if (r != 1.0 && !same(r, steps)) return false;
    layer["op"] = "lif";
    layer["tau"] = steps;
    layer["decay_input"] = r == 1.0;
  }
  layer["v_threshold"] = threshold;
  layer["v_reset"] = subtract ? nlohmann::json(nullptr) : nlohmann::json(reset);
  return true;
}

void GraphImporter::emit_neuron(const std::string& name, nlohmann::json layer) {
  const nir::Node& node = *flat(name).node;
  // Every parameter finite, every time constant positive: a NaN or a zero tau would run as
  // NaN or infinite membranes instead of failing here.
  for (const auto& [field, value] : node.fields) {
    const auto* array = std::get_if<Array>(&value);
    if (array == nullptr) continue;
    const bool time_constant = field == "tau" || field == "tau_syn" || field == "tau_mem";
    for (double v : array->values) {
      if (!std::isfinite(v) || (time_constant && !(v > 0))) {
        fail(flat(name).where + "/" + field,
             time_constant ? "expected positive, finite time constants"
                           : "expected finite values; found " + message_number(v));
      }
    }
  }
  if (emit_exact_neuron(name, layer)) {
    nodes_.push_back(layer);
    return;
  }
  static const std::map<std::string, std::pair<NirModel, const char*>> kModels = {
      {"LIF", {NirModel::lif, "nir_lif"}},
      {"IF", {NirModel::if_, "nir_if"}},
      {"CubaLIF", {NirModel::cuba_lif, "nir_cuba_lif"}},
      {"LI", {NirModel::li, "nir_li"}},
      {"CubaLI", {NirModel::cuba_li, "nir_cuba_li"}},
      {"I", {NirModel::i, "nir_i"}}};
  const auto& [model, op] = kModels.at(node.type);
  const bool subtract = NirNeuronLayer::spiking(model) && subtract_reset(node);
  layer["op"] = op;
  layer["dt"] = dt_;
  if (subtract) layer["reset"] = "subtract";
  const std::string self = layer["name"];
  for (NirParameter p : NirNeuronLayer::parameters(model)) {
    const std::string parameter = NirNeuronLayer::parameter_name(p);
    if (subtract && p == NirParameter::v_reset) continue;
    add_tensor(self + "." + parameter, shapes_.at(name), per_element(name, parameter));
  }
  nodes_.push_back(layer);
}

ImportedNetwork GraphImporter::run() {
  flatten(graph_, "", "/node", true);
  drop_boundaries();
  std::vector<std::string> inputs, outputs;
  bool timed = false;
  for (const auto& [name, f] : flat_.nodes) {
    if (f.node->type == "Input") inputs.push_back(name);
    if (f.node->type == "Output") outputs.push_back(name);
    timed |= f.node->type == "Delay" || f.node->has("r");  // every neuron model has r
  }
  if (inputs.size() != 1 || outputs.size() != 1) {
    fail("/node/nodes", "expected one Input and one Output node; found " +
                            std::to_string(inputs.size()) + " and " +
                            std::to_string(outputs.size()));
  }
  input_ = inputs[0];
  // Graphs without neurons or delays do not depend on the time step.
  if (timed) dt_ = time_step();
  infer_shapes();
  find_back_edges();
  exit_[input_] = "input";
  for (const std::string& n : order_) {
    if (n != input_) exit_[n] = claim(n);
  }
  for (const std::string& n : order_) {
    if (n != input_) emit(n);
  }
  if (output_ == "input" || nodes_.empty()) {
    fail(flat(outputs[0]).where, "the graph computes nothing: its Output is fed by its Input");
  }
  nlohmann::json& doc = result_.document;
  doc = {{"format", "snnsim-network"},
         {"version", 1},
         {"kind", "layer_graph"},
         {"description",
          "imported from the NIR graph " + source_ + (timed ? ", dt " + seconds(dt_) : "")},
         {"timesteps", timesteps()},
         {"input", {{"shape", shapes_.at(input_)}, {"encoder", encoder()}}}};
  if (!result_.tensors.empty()) doc["weights"] = tensors_file_;
  doc["nodes"] = nodes_;
  doc["output"] = output_;
  if (!graph_.metadata.count("timesteps")) {
    result_.notes.push_back(
        "the graph gives no number of timesteps: " + std::to_string(kDefaultTimesteps) +
        " written (snnsim infer --timesteps overrides it)");
  }
  return std::move(result_);
}

}  // namespace

ImportedNetwork import_layer_graph(const nir::Graph& graph, const std::string& source,
                                   const std::string& tensors_file,
                                   const NirImportOptions& options) {
  return GraphImporter(graph, source, tensors_file, options).run();
}

}  // namespace snnsim
