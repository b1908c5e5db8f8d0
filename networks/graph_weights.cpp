#include "networks/graph_weights.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>

#include "networks/file_extension.h"
#include "networks/finite_values.h"
#include "networks/hdf5_dataset.h"
#include "networks/safetensors.h"

namespace snnsim {
namespace {

/// A file of named tensors.
struct TensorSource {
  std::vector<std::string> names;
  std::function<Shape(const std::string&)> shape;
  std::function<std::vector<float>(const std::string&)> read;
};

TensorSource open_source(const std::filesystem::path& file) {
  const std::string extension = lowercase_extension(file);
  if (extension == ".safetensors") {
    auto tensors = std::make_shared<SafetensorsFile>(file);
    return {tensors->names(), [tensors](const std::string& n) { return tensors->shape(n); },
            [tensors](const std::string& n) { return tensors->read_float(n); }};
  }
  if (extension == ".h5" || extension == ".hdf5") {
    // HDF5 gives a dataset's shape with its values: each is read once, when its shape is asked,
    // and handed over by read().
    auto arrays = std::make_shared<std::map<std::string, Hdf5Array>>();
    return {list_hdf5_datasets(file),
            [file, arrays](const std::string& n) {
              Hdf5Array& array = (*arrays)[n];
              array = read_hdf5_array(file, n);
              return array.shape;
            },
            [arrays](const std::string& n) {
              const Hdf5Array array = std::move(arrays->at(n));
              arrays->erase(n);
              return std::vector<float>(array.values.begin(), array.values.end());
            }};
  }
  throw std::runtime_error(file.string() +
                           ": expected a weights file ending in .safetensors, .h5 or .hdf5");
}

/// Whether a tensor of shape `found` holds what `expected` does in the same order: the same
/// shape, up to trailing axes of size 1 (a 1x1 convolution's kernel [out, in, 1, 1] loads as a
/// linear layer's [out, in], and a 1-D convolution's [out, in, 1] too).
bool same_layout(Shape found, Shape expected) {
  for (Shape* shape : {&found, &expected}) {
    while (shape->size() > 1 && shape->back() == 1)
      shape->pop_back();
  }
  return found == expected;
}

}  // namespace

void load_graph_weights(LayerGraph& graph, const std::filesystem::path& file,
                        const WeightNaming& naming) {
  const TensorSource source = open_source(file);
  const std::set<std::string> available(source.names.begin(), source.names.end());
  std::set<std::string> used;
  std::vector<std::string> problems;
  // (node, tensor spec name, file tensor name, copies to check) of every tensor to set, and for a
  // vector stored as one scalar per element, their names.
  struct Load {
    std::size_t node;
    std::string spec_name, name;
    std::vector<std::string> copies, elements;
  };
  // A PyTorch ParameterList of scalars, "NAME.0", "NAME.1", ..., holds a vector NAME [n].
  const auto scalar_elements = [&](const std::string& name, const Shape& shape) {
    std::vector<std::string> elements;
    for (std::size_t i = 0; shape.size() == 1 && i < shape[0]; ++i) {
      const std::string element = name + "." + std::to_string(i);
      if (!available.count(element) || element_count(source.shape(element)) != 1) return elements;
      elements.push_back(element);
    }
    return elements;
  };
  std::vector<Load> loads;
  for (std::size_t n = 0; n < graph.nodes().size(); ++n) {
    const GraphNode& node = graph.nodes()[n];
    if (node.op == nullptr) continue;
    const std::string prefix = naming.prefixes[n].empty() ? node.name : naming.prefixes[n];
    const std::vector<std::string> no_copies;
    const std::vector<std::string>& copy_prefixes =
        n < naming.copies.size() ? naming.copies[n] : no_copies;
    for (const WeightSpec& spec : node.op->weight_specs()) {
      const auto renamed = naming.renamed.find(node.name + "." + spec.name);
      const std::string name = renamed != naming.renamed.end() ? renamed->second
                               : spec.full_name                ? spec.name
                                                               : prefix + "." + spec.name;
      if (!available.count(name)) {
        if (std::vector<std::string> elements = scalar_elements(name, spec.shape);
            !elements.empty() && elements.size() == spec.shape[0]) {
          used.insert(elements.begin(), elements.end());
          loads.push_back({n, spec.name, name, {}, std::move(elements)});
          continue;
        }
        if (!spec.optional) {
          const std::string as_scalars = spec.shape.size() == 1 && spec.shape[0] > 1
                                             ? " (or " + name + ".0 to ." +
                                                   std::to_string(spec.shape[0] - 1) +
                                                   ", a scalar each)"
                                             : "";
          problems.push_back("missing tensor '" + name + "' " + shape_string(spec.shape) +
                             as_scalars + " for node " + node.name);
        }
        continue;
      }
      used.insert(name);
      const Shape found = source.shape(name);
      if (!same_layout(found, spec.shape)) {
        problems.push_back("tensor '" + name + "' has shape " + shape_string(found) + "; node " +
                           node.name + " expects " + shape_string(spec.shape));
        continue;
      }
      std::vector<std::string> copies;
      for (const std::string& copy_prefix : copy_prefixes) {
        const std::string copy = copy_prefix + "." + spec.name;
        if (!available.count(copy)) continue;
        used.insert(copy);
        if (!same_layout(source.shape(copy), spec.shape)) {
          problems.push_back("tensor '" + copy + "' has shape " + shape_string(source.shape(copy)) +
                             "; it is a copy of '" + name + "' " + shape_string(spec.shape));
          continue;
        }
        copies.push_back(copy);
      }
      loads.push_back({n, spec.name, name, std::move(copies), {}});
    }
  }
  for (const std::string& name : source.names) {
    const bool counter = name.size() >= 20 && name.ends_with("num_batches_tracked");
    const bool accepted =
        std::any_of(naming.unused_prefixes.begin(), naming.unused_prefixes.end(),
                    [&name](const std::string& p) { return name.starts_with(p); });
    if (!used.count(name) && !counter && !accepted) {
      problems.push_back("tensor '" + name + "' is not used by any node");
    }
  }
  if (!problems.empty()) {
    std::string message = file.string() + ": " + problems[0];
    if (problems.size() > 1) {
      message += " (and " + std::to_string(problems.size() - 1) + " more: " + problems[1];
      message += problems.size() > 2 ? ", ...)" : ")";
    }
    throw std::runtime_error(message);
  }
  for (const Load& load : loads) {
    std::vector<float> values;
    if (load.elements.empty()) {
      values = source.read(load.name);
    } else {
      for (const std::string& element : load.elements)
        values.push_back(source.read(element).at(0));
    }
    if (const std::string problem = non_finite_problem(values); !problem.empty())
      throw std::runtime_error(file.string() + ": tensor '" + load.name + "': " + problem);
    for (const std::string& copy : load.copies) {
      if (source.read(copy) != values) {
        throw std::runtime_error(file.string() + ": tensor '" + copy + "' differs from '" +
                                 load.name + "'; the two are one shared tensor of the model");
      }
    }
    graph.nodes()[load.node].op->set_weight(load.spec_name, std::move(values));
  }
  graph.fold_affine_nodes();
}

}  // namespace snnsim
