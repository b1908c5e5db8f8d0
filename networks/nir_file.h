#pragma once
// NIR files: the Neuromorphic Intermediate Representation (Pedersen et al., Nature
// Communications 2024; github neuromorphs/NIR) as the reference package's `nir.write` lays it out
// in HDF5 (docs/export.md; ../shared/reference/nir.md):
//
//   /version                 scalar variable-length UTF-8 string, the nir version written for
//   /node/type               "NIRGraph"
//   /node/nodes/NAME/type    the primitive ("LIF", "Affine", ..., or "NIRGraph" when nested)
//   /node/nodes/NAME/FIELD   one dataset per field of the primitive (table in nir_file.cpp)
//   /node/edges              (E, 2) variable-length strings: (source, target) per edge
//   .../metadata/KEY         optional group of free datasets on any node
//
// No HDF5 attributes are used. This file reads and writes that layout and checks every node
// against its primitive's fields, as `nir.read` does; what the graph means is the business of
// networks/nir_import.h and export/nir_export.h.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "sim/one_line.h"

namespace snnsim::nir {

/// A malformed NIR file, or a graph that cannot be written as one: one line naming the file and
/// the place in it.
class NirError : public std::runtime_error {
 public:
  explicit NirError(const std::string& what) : std::runtime_error(one_line(what)) {}
};

/// A numeric dataset: its shape (empty for a scalar) and values in C order.
struct Array {
  enum class Type { float32, float64, int64 };
  Type type = Type::float32;
  std::vector<std::size_t> shape;
  std::vector<double> values;

  static Array scalar(std::int64_t value) { return {Type::int64, {}, {double(value)}}; }
  static Array integers(const std::vector<std::int64_t>& values);
  /// A float32 array of `shape` (one dimension of values.size() when left out).
  static Array floats(std::vector<double> values, std::vector<std::size_t> shape = {});
  /// A float32 array of `size` copies of `value`.
  static Array filled(std::size_t size, double value);

  std::size_t size() const { return values.size(); }
  /// Whether every value is the same (true for an empty array).
  bool uniform() const;
};

/// A dataset of a node: numbers, or a string (Conv padding "same" or "valid").
using Field = std::variant<Array, std::string>;

struct Graph;

struct Node {
  std::string type;                     ///< a primitive's name, or "NIRGraph"
  std::map<std::string, Field> fields;  ///< every dataset but type and metadata
  std::map<std::string, Field> metadata;
  std::shared_ptr<Graph> graph;  ///< a nested graph, for type "NIRGraph"

  /// The numeric field `name`; throws NirError naming `where` when it is missing or a string.
  const Array& array(const std::string& name, const std::string& where) const;
  bool has(const std::string& name) const { return fields.count(name) > 0; }
};

struct Graph {
  std::map<std::string, Node> nodes;  ///< by name (HDF5 lists them alphabetically)
  std::vector<std::pair<std::string, std::string>> edges;
  std::map<std::string, Field> metadata;
};

/// The nir package version whose layout is written: v_reset on LIF, IF and CubaLIF needs 1.0.5 or
/// later, and CubaLI a release after 1.0.7.
inline constexpr const char* kWrittenVersion = "1.0.7";

/// Checks `graph` (every node's fields against its primitive, every edge's ends) and writes it to
/// `path` through a temporary file renamed on success. Throws NirError.
void write_file(const Graph& graph, const std::filesystem::path& path);

/// Reads and checks a NIR file. Throws NirError ("FILE: /node/nodes/lif1: ...") for a damaged
/// file, an unknown primitive, a missing or unexpected field, or an edge to a missing node.
Graph read_file(const std::filesystem::path& path);

/// The nir version recorded in the file ("" when it has none).
std::string read_version(const std::filesystem::path& path);

/// The primitives of nir.md section 1, in the order of its table.
const std::vector<std::string>& primitive_names();

}  // namespace snnsim::nir
