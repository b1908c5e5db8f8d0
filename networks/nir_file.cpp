#include "networks/nir_file.h"

#include <hdf5.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "sim/atomic_write.h"
#include "sim/hdf5_util.h"

namespace snnsim::nir {

namespace {

using hdf5::Handle;

/// The fields of a primitive, as nir's serialization.py reads them (nir/serialization.py,
/// read_node): `required` must be present, `optional` may be.
struct Primitive {
  std::string name;
  std::vector<std::string> required, optional;
};

const std::vector<Primitive>& primitives() {
  static const std::vector<Primitive> table{
      {"Input", {"shape"}, {}},
      {"Output", {"shape"}, {}},
      {"Affine", {"weight", "bias"}, {}},
      {"Linear", {"weight"}, {}},
      {"Scale", {"scale"}, {}},
      {"Threshold", {"threshold"}, {}},
      {"Delay", {"delay"}, {}},
      {"LIF", {"tau", "r", "v_leak", "v_threshold"}, {"v_reset"}},
      {"CubaLIF", {"tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "w_in"}, {"v_reset"}},
      {"CubaLI", {"tau_syn", "tau_mem", "r", "v_leak", "w_in"}, {}},
      {"LI", {"tau", "r", "v_leak"}, {}},
      {"IF", {"r", "v_threshold"}, {"v_reset"}},
      {"I", {"r"}, {}},
      {"Conv1d", {"weight", "stride", "padding", "dilation", "groups", "bias"}, {"input_shape"}},
      {"Conv2d", {"weight", "stride", "padding", "dilation", "groups", "bias"}, {"input_shape"}},
      {"SumPool2d", {"kernel_size", "stride", "padding"}, {}},
      {"AvgPool2d", {"kernel_size", "stride", "padding"}, {}},
      {"Flatten", {"start_dim", "end_dim"}, {"input_type"}},
  };
  return table;
}

const Primitive* find_primitive(const std::string& type) {
  for (const Primitive& p : primitives()) {
    if (p.name == type) return &p;
  }
  return nullptr;
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names)
    out += (out.empty() ? "" : ", ") + n;
  return out;
}

/// Checks a node's fields against its primitive; `where` names it in errors.
void check_node(const Node& node, const std::string& where) {
  if (node.type == "NIRGraph") {
    if (!node.graph) throw NirError(where + ": a NIRGraph node without its nodes");
    return;
  }
  const Primitive* primitive = find_primitive(node.type);
  if (primitive == nullptr) {
    throw NirError(where + ": unknown NIR primitive '" + node.type + "'; expected one of " +
                   join(primitive_names()));
  }
  std::vector<std::string> missing, unexpected;
  for (const std::string& name : primitive->required) {
    if (!node.has(name)) missing.push_back(name);
  }
  for (const auto& [name, field] : node.fields) {
    if (!contains(primitive->required, name) && !contains(primitive->optional, name)) {
      unexpected.push_back(name);
    }
  }
  if (!missing.empty() || !unexpected.empty()) {
    std::string message = where + ": " + node.type;
    if (!missing.empty()) message += " misses " + join(missing);
    if (!missing.empty() && !unexpected.empty()) message += " and";
    if (!unexpected.empty()) message += " has unexpected " + join(unexpected);
    throw NirError(message + " (its fields: " + join(primitive->required) +
                   (primitive->optional.empty() ? "" : "; optional " + join(primitive->optional)) +
                   ")");
  }
}

/// Whether `end` names a node of `graph`, or as "GRAPH.NODE" a node of a nested graph, as nir's
/// own edges do. Names may hold dots themselves (nirtorch writes "1.lif" into the top graph), so
/// every dot is tried as the separator.
bool names_a_node(const Graph& graph, const std::string& end) {
  if (graph.nodes.count(end) > 0) return true;
  for (std::size_t dot = end.find('.'); dot != std::string::npos; dot = end.find('.', dot + 1)) {
    const auto nested = graph.nodes.find(end.substr(0, dot));
    if (nested != graph.nodes.end() && nested->second.graph &&
        names_a_node(*nested->second.graph, end.substr(dot + 1))) {
      return true;
    }
  }
  return false;
}

void check_graph(const Graph& graph, const std::string& where) {
  for (const auto& [name, node] : graph.nodes) {
    if (name.empty() || name.find('/') != std::string::npos || name == ".") {
      throw NirError(where + "/nodes: '" + name +
                     "' cannot name a node: a name is not empty, not \".\" and without '/'");
    }
    check_node(node, where + "/nodes/" + name);
    if (node.graph) check_graph(*node.graph, where + "/nodes/" + name);
  }
  for (std::size_t e = 0; e < graph.edges.size(); ++e) {
    for (const std::string& end : {graph.edges[e].first, graph.edges[e].second}) {
      if (!names_a_node(graph, end)) {
        throw NirError(where + "/edges/" + std::to_string(e) + ": no node named '" + end + "'");
      }
    }
  }
}

// --- writing ------------------------------------------------------------------------------------

Handle string_type() {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  return type;
}

void fail_write(const std::string& where) {
  throw NirError(where + ": cannot write the dataset");
}

void write_string(hid_t group, const std::string& name, const std::string& value,
                  const std::string& where) {
  const Handle type = string_type();
  const Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  const Handle dataset(H5Dcreate2(group, name.c_str(), type.get(), space.get(), H5P_DEFAULT,
                                  H5P_DEFAULT, H5P_DEFAULT),
                       H5Dclose);
  const char* text = value.c_str();
  if (!dataset.valid() ||
      H5Dwrite(dataset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &text) < 0) {
    fail_write(where + "/" + name);
  }
}

void write_array(hid_t group, const std::string& name, const Array& array,
                 const std::string& where) {
  std::size_t count = 1;
  for (std::size_t d : array.shape)
    count *= d;
  if (count != array.values.size()) {
    throw NirError(where + "/" + name + ": " + std::to_string(array.values.size()) +
                   " values for a shape of " + std::to_string(count));
  }
  const std::vector<hsize_t> dims(array.shape.begin(), array.shape.end());
  const Handle space(dims.empty() ? H5Screate(H5S_SCALAR)
                                  : H5Screate_simple(int(dims.size()), dims.data(), nullptr),
                     H5Sclose);
  // Arrays are gzip-compressed, as nir.write does; scalars and empty arrays cannot be chunked.
  const Handle properties(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  if (!dims.empty() && count > 0) {
    H5Pset_chunk(properties.get(), int(dims.size()), dims.data());
    H5Pset_deflate(properties.get(), 4);
  }
  hid_t file_type = H5T_IEEE_F32LE, memory_type = H5T_NATIVE_FLOAT;
  std::vector<float> floats;
  std::vector<std::int64_t> integers;
  const void* data = nullptr;
  switch (array.type) {
    case Array::Type::float32:
      floats.assign(array.values.begin(), array.values.end());
      data = floats.data();
      break;
    case Array::Type::float64:
      file_type = H5T_IEEE_F64LE;
      memory_type = H5T_NATIVE_DOUBLE;
      data = array.values.data();
      break;
    case Array::Type::int64:
      file_type = H5T_STD_I64LE;
      memory_type = H5T_NATIVE_INT64;
      integers.assign(array.values.begin(), array.values.end());
      data = integers.data();
      break;
  }
  const Handle dataset(H5Dcreate2(group, name.c_str(), file_type, space.get(), H5P_DEFAULT,
                                  properties.get(), H5P_DEFAULT),
                       H5Dclose);
  if (!dataset.valid() || (count > 0 && H5Dwrite(dataset.get(), memory_type, H5S_ALL, H5S_ALL,
                                                 H5P_DEFAULT, data) < 0)) {
    fail_write(where + "/" + name);
  }
}

void write_field(hid_t group, const std::string& name, const Field& field,
                 const std::string& where) {
  if (const auto* text = std::get_if<std::string>(&field)) {
    write_string(group, name, *text, where);
  } else {
    write_array(group, name, std::get<Array>(field), where);
  }
}

Handle create_group(hid_t parent, const std::string& name, const std::string& where) {
  Handle group(H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
  if (!group.valid()) throw NirError(where + "/" + name + ": cannot create the group");
  return group;
}

void write_metadata(hid_t group, const std::map<std::string, Field>& metadata,
                    const std::string& where) {
  if (metadata.empty()) return;  // nir.write omits an empty metadata group
  const Handle meta = create_group(group, "metadata", where);
  for (const auto& [key, value] : metadata)
    write_field(meta.get(), key, value, where + "/metadata");
}

void write_graph(hid_t group, const Graph& graph, const std::string& where);

void write_node(hid_t group, const Node& node, const std::string& where) {
  write_string(group, "type", node.type, where);
  if (node.graph) {
    write_graph(group, *node.graph, where);
  } else {
    for (const auto& [name, field] : node.fields)
      write_field(group, name, field, where);
  }
  write_metadata(group, node.metadata, where);
}

void write_graph(hid_t group, const Graph& graph, const std::string& where) {
  const Handle nodes = create_group(group, "nodes", where);
  for (const auto& [name, node] : graph.nodes) {
    const Handle child = create_group(nodes.get(), name, where + "/nodes");
    write_node(child.get(), node, where + "/nodes/" + name);
  }
  const Handle type = string_type();
  const hsize_t dims[2] = {graph.edges.size(), 2};
  const Handle space(H5Screate_simple(2, dims, nullptr), H5Sclose);
  const Handle edges(
      H5Dcreate2(group, "edges", type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
      H5Dclose);
  std::vector<const char*> ends;
  for (const auto& [source, target] : graph.edges) {
    ends.push_back(source.c_str());
    ends.push_back(target.c_str());
  }
  if (!edges.valid() || (!ends.empty() && H5Dwrite(edges.get(), type.get(), H5S_ALL, H5S_ALL,
                                                   H5P_DEFAULT, ends.data()) < 0)) {
    fail_write(where + "/edges");
  }
}

// --- reading ------------------------------------------------------------------------------------

std::vector<std::string> member_names(hid_t group, const std::string& where) {
  H5G_info_t info;
  if (H5Gget_info(group, &info) < 0) throw NirError(where + ": cannot list the group");
  std::vector<std::string> names;
  for (hsize_t k = 0; k < info.nlinks; ++k) {
    const ssize_t length =
        H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, k, nullptr, 0, H5P_DEFAULT);
    if (length < 0) throw NirError(where + ": cannot list the group");
    std::string name(std::size_t(length) + 1, '\0');
    if (H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, k, name.data(), name.size(),
                           H5P_DEFAULT) < 0) {
      throw NirError(where + ": cannot list the group");
    }
    name.resize(std::size_t(length));
    names.push_back(std::move(name));
  }
  return names;
}

bool is_group(hid_t parent, const std::string& name) {
  H5O_info_t info;
  return H5Lexists(parent, name.c_str(), H5P_DEFAULT) > 0 &&
         H5Oget_info_by_name2(parent, name.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) >= 0 &&
         info.type == H5O_TYPE_GROUP;
}

/// Every string of a string dataset (one for a scalar), fixed-length or variable.
std::vector<std::string> read_strings(hid_t dataset, hid_t file_type, const std::string& where) {
  const Handle space(H5Dget_space(dataset), H5Sclose);
  const hssize_t count = H5Sget_simple_extent_npoints(space.get());
  std::vector<std::string> out;
  if (count <= 0) return out;
  if (H5Tis_variable_str(file_type) > 0) {
    const Handle type = string_type();
    std::vector<char*> texts(std::size_t(count), nullptr);
    if (H5Dread(dataset, type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, texts.data()) < 0) {
      throw NirError(where + ": cannot read the strings");
    }
    for (char* text : texts)
      out.emplace_back(text != nullptr ? text : "");
    H5Dvlen_reclaim(type.get(), space.get(), H5P_DEFAULT, texts.data());
    return out;
  }
  const std::size_t size = H5Tget_size(file_type);
  const Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), size);
  std::vector<char> buffer(size * std::size_t(count));
  if (H5Dread(dataset, type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()) < 0) {
    throw NirError(where + ": cannot read the strings");
  }
  for (hssize_t k = 0; k < count; ++k) {
    const char* begin = buffer.data() + std::size_t(k) * size;
    out.emplace_back(begin, strnlen(begin, size));
  }
  return out;
}

/// A dataset as a field: strings (a scalar one) or numbers converted to double.
Field read_field(hid_t parent, const std::string& name, const std::string& where) {
  const Handle dataset(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!dataset.valid()) throw NirError(where + ": expected a dataset");
  const Handle type(H5Dget_type(dataset.get()), H5Tclose);
  const H5T_class_t type_class = H5Tget_class(type.get());
  if (type_class == H5T_STRING) {
    std::vector<std::string> texts = read_strings(dataset.get(), type.get(), where);
    if (texts.size() != 1) throw NirError(where + ": expected one string");
    return texts[0];
  }
  if (type_class != H5T_INTEGER && type_class != H5T_FLOAT) {
    throw NirError(where + ": expected numbers or a string");
  }
  const Handle space(H5Dget_space(dataset.get()), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> dims(std::size_t(std::max(rank, 0)));
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  Array array;
  array.type = type_class == H5T_INTEGER     ? Array::Type::int64
               : H5Tget_size(type.get()) > 4 ? Array::Type::float64
                                             : Array::Type::float32;
  array.shape.assign(dims.begin(), dims.end());
  const hssize_t count = H5Sget_simple_extent_npoints(space.get());
  if (rank < 0 || count < 0) throw NirError(where + ": cannot read the shape");
  try {
    hdf5::check_declared_size(dataset.get(), std::uint64_t(count), where);
  } catch (const std::runtime_error& error) {
    throw NirError(error.what());
  }
  array.values.resize(std::size_t(count));
  if (!array.values.empty() && H5Dread(dataset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL,
                                       H5P_DEFAULT, array.values.data()) < 0) {
    throw NirError(where + ": cannot read the values");
  }
  return array;
}

std::map<std::string, Field> read_metadata(hid_t group, const std::string& where) {
  std::map<std::string, Field> metadata;
  const Handle meta(H5Gopen2(group, "metadata", H5P_DEFAULT), H5Gclose);
  for (const std::string& key : member_names(meta.get(), where)) {
    // Nested metadata groups carry nothing snnsim reads; they are left out, not refused.
    if (!is_group(meta.get(), key)) metadata[key] = read_field(meta.get(), key, where + "/" + key);
  }
  return metadata;
}

Graph read_graph(hid_t group, const std::string& where);

Node read_node(hid_t group, const std::string& where) {
  Node node;
  const std::vector<std::string> names = member_names(group, where);
  if (!contains(names, "type")) {
    throw NirError(where + ": the node has no 'type'");
  }
  const Field type = read_field(group, "type", where + "/type");
  if (!std::holds_alternative<std::string>(type)) {
    throw NirError(where + "/type: expected a string naming a NIR primitive");
  }
  node.type = std::get<std::string>(type);
  if (node.type == "NIRGraph") {
    node.graph = std::make_shared<Graph>(read_graph(group, where));
    return node;
  }
  for (const std::string& name : names) {
    if (name == "type") continue;
    if (name == "metadata" && is_group(group, name)) {
      node.metadata = read_metadata(group, where + "/metadata");
    } else if (is_group(group, name)) {
      throw NirError(where + "/" + name + ": unexpected group in a " + node.type + " node");
    } else {
      node.fields[name] = read_field(group, name, where + "/" + name);
    }
  }
  check_node(node, where);
  return node;
}

Graph read_graph(hid_t group, const std::string& where) {
  Graph graph;
  if (!is_group(group, "nodes")) throw NirError(where + ": a NIRGraph without 'nodes'");
  const Handle nodes(H5Gopen2(group, "nodes", H5P_DEFAULT), H5Gclose);
  for (const std::string& name : member_names(nodes.get(), where + "/nodes")) {
    const std::string place = where + "/nodes/" + name;
    if (!is_group(nodes.get(), name)) throw NirError(place + ": expected a node group");
    const Handle child(H5Gopen2(nodes.get(), name.c_str(), H5P_DEFAULT), H5Gclose);
    graph.nodes[name] = read_node(child.get(), place);
  }
  if (H5Lexists(group, "edges", H5P_DEFAULT) > 0) {
    const Handle edges(H5Dopen2(group, "edges", H5P_DEFAULT), H5Dclose);
    if (!edges.valid()) throw NirError(where + "/edges: expected a dataset of (E, 2) strings");
    const Handle type(H5Dget_type(edges.get()), H5Tclose);
    const Handle space(H5Dget_space(edges.get()), H5Sclose);
    const hssize_t count = H5Sget_simple_extent_npoints(space.get());
    hsize_t dims[2] = {0, 0};
    const bool pairs = H5Sget_simple_extent_ndims(space.get()) == 2 &&
                       H5Sget_simple_extent_dims(space.get(), dims, nullptr) == 2 && dims[1] == 2;
    // An empty edge list is written by h5py as a float array of shape (0,).
    if (count != 0) {
      if (count < 0 || H5Tget_class(type.get()) != H5T_STRING || !pairs) {
        throw NirError(where + "/edges: expected (E, 2) strings");
      }
      const std::vector<std::string> ends = read_strings(edges.get(), type.get(), where + "/edges");
      for (std::size_t k = 0; k + 1 < ends.size(); k += 2) {
        graph.edges.emplace_back(ends[k], ends[k + 1]);
      }
    }
  }
  if (is_group(group, "metadata")) {
    graph.metadata = read_metadata(group, where + "/metadata");
  }
  return graph;
}

Handle open_file(const std::filesystem::path& path) {
  hdf5::silence_errors();
  if (!std::filesystem::exists(path)) throw NirError(path.string() + ": no such file");
  if (!std::filesystem::is_regular_file(path)) throw NirError(path.string() + ": not a file");
  try {
    hdf5::check_readable(path);
  } catch (const std::runtime_error& error) {
    throw NirError(error.what());
  }
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.valid()) throw NirError(path.string() + ": not an HDF5 file (or damaged)");
  return file;
}

}  // namespace

Array Array::integers(const std::vector<std::int64_t>& values) {
  return {Type::int64, {values.size()}, std::vector<double>(values.begin(), values.end())};
}

Array Array::floats(std::vector<double> values, std::vector<std::size_t> shape) {
  if (shape.empty()) shape = {values.size()};
  return {Type::float32, std::move(shape), std::move(values)};
}

Array Array::filled(std::size_t size, double value) {
  return floats(std::vector<double>(size, value));
}

bool Array::uniform() const {
  return std::adjacent_find(values.begin(), values.end(), std::not_equal_to<>()) == values.end();
}

const Array& Node::array(const std::string& name, const std::string& where) const {
  const auto it = fields.find(name);
  if (it == fields.end()) throw NirError(where + ": " + type + " has no '" + name + "'");
  const auto* array = std::get_if<Array>(&it->second);
  if (array == nullptr) throw NirError(where + "/" + name + ": expected numbers, found a string");
  return *array;
}

const std::vector<std::string>& primitive_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const Primitive& p : primitives())
      out.push_back(p.name);
    return out;
  }();
  return names;
}

void write_file(const Graph& graph, const std::filesystem::path& path) {
  const std::string where = path.string() + ": /node";
  check_graph(graph, where);
  hdf5::silence_errors();
  write_atomically(path, [&](const std::filesystem::path& partial) {
    Handle file(H5Fcreate(partial.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
    if (!file.valid()) throw NirError(path.string() + ": cannot create " + partial.string());
    write_string(file.get(), "version", kWrittenVersion, path.string() + ": ");
    {
      const Handle root = create_group(file.get(), "node", path.string() + ": ");
      write_string(root.get(), "type", "NIRGraph", where);
      write_graph(root.get(), graph, where);
      write_metadata(root.get(), graph.metadata, where);
    }
    if (!file.close()) throw NirError(path.string() + ": cannot write " + partial.string());
  });
}

Graph read_file(const std::filesystem::path& path) {
  const Handle file = open_file(path);
  const std::string where = path.string() + ": /node";
  if (!is_group(file.get(), "node")) {
    throw NirError(path.string() + ": not a NIR file (no /node group)");
  }
  const Handle root(H5Gopen2(file.get(), "node", H5P_DEFAULT), H5Gclose);
  const Node top = read_node(root.get(), where);
  if (top.type != "NIRGraph") {
    throw NirError(where + "/type: expected \"NIRGraph\" at the top, found \"" + top.type + "\"");
  }
  check_graph(*top.graph, where);
  return std::move(*top.graph);
}

std::string read_version(const std::filesystem::path& path) {
  const Handle file = open_file(path);
  if (H5Lexists(file.get(), "version", H5P_DEFAULT) <= 0) return "";
  const Field version = read_field(file.get(), "version", path.string() + ": /version");
  const auto* text = std::get_if<std::string>(&version);
  return text != nullptr ? *text : "";
}

}  // namespace snnsim::nir
