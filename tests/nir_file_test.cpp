// The NIR file layer (networks/nir_file.h): what it writes is nir.write's layout, what it reads
// back is what was written, and NIR's own reader (`nir.read`, type checks on) loads it.
#include "networks/nir_file.h"

#include <gtest/gtest.h>
#include <hdf5.h>

#include <fstream>
#include <functional>

#include "nir_test_support.h"
#include "sim/hdf5_util.h"

namespace snnsim {
namespace {

using nir::Array;
using nir::Graph;
using nir::Node;

/// Input[3] -> Affine W(2,3) -> LIF[2] -> Output[2], with graph metadata.
Graph small_graph() {
  Graph graph;
  graph.nodes["input"] = Node{"Input", {{"shape", Array::integers({3})}}, {}, nullptr};
  graph.nodes["fc"] = Node{"Affine",
                           {{"weight", Array::floats({0.5, -1, 2, 0.25, 0, 1.5}, {2, 3})},
                            {"bias", Array::floats({0.1, -0.2})}},
                           {},
                           nullptr};
  graph.nodes["lif"] = Node{"LIF",
                            {{"tau", Array::floats({0.02, 0.03})},
                             {"r", Array::filled(2, 1.0)},
                             {"v_leak", Array::filled(2, 0.0)},
                             {"v_threshold", Array::filled(2, 1.0)},
                             {"v_reset", Array::filled(2, -0.5)}},
                            {{"unit", std::string("ms")}},
                            nullptr};
  graph.nodes["output"] = Node{"Output", {{"shape", Array::integers({2})}}, {}, nullptr};
  graph.edges = {{"input", "fc"}, {"fc", "lif"}, {"lif", "output"}};
  graph.metadata["dt"] = Array{Array::Type::float64, {}, {1e-4}};
  graph.metadata["source"] = std::string("snnsim test");
  return graph;
}

/// Input[2,8,8] -> Conv2d -> SumPool2d -> Flatten -> Linear -> IF -> Output.
Graph conv_graph() {
  Graph graph;
  graph.nodes["input"] = Node{"Input", {{"shape", Array::integers({2, 8, 8})}}, {}, nullptr};
  std::vector<double> kernel(4 * 2 * 3 * 3);
  for (std::size_t k = 0; k < kernel.size(); ++k)
    kernel[k] = double(k % 7) - 3;
  graph.nodes["conv"] = Node{"Conv2d",
                             {{"input_shape", Array::integers({8, 8})},
                              {"weight", Array::floats(kernel, {4, 2, 3, 3})},
                              {"stride", Array::integers({1, 1})},
                              {"padding", Array::integers({1, 1})},
                              {"dilation", Array::integers({1, 1})},
                              {"groups", Array::scalar(1)},
                              {"bias", Array::floats({0, 0, 0, 0})}},
                             {},
                             nullptr};
  graph.nodes["pool"] = Node{"SumPool2d",
                             {{"kernel_size", Array::integers({2, 2})},
                              {"stride", Array::integers({2, 2})},
                              {"padding", Array::integers({0, 0})}},
                             {},
                             nullptr};
  graph.nodes["flat"] = Node{"Flatten",
                             {{"start_dim", Array::scalar(0)},
                              {"end_dim", Array::scalar(-1)},
                              {"input_type", Array::integers({4, 4, 4})}},
                             {},
                             nullptr};
  graph.nodes["fc"] = Node{"Linear",
                           {{"weight", Array::floats(std::vector<double>(3 * 64, 0.5), {3, 64})}},
                           {},
                           nullptr};
  graph.nodes["if"] = Node{"IF",
                           {{"r", Array::filled(3, 1.0)},
                            {"v_threshold", Array::filled(3, 1.0)},
                            {"v_reset", Array::filled(3, 0.0)}},
                           {},
                           nullptr};
  graph.nodes["output"] = Node{"Output", {{"shape", Array::integers({3})}}, {}, nullptr};
  graph.edges = {{"input", "conv"}, {"conv", "pool"}, {"pool", "flat"},
                 {"flat", "fc"},    {"fc", "if"},     {"if", "output"}};
  return graph;
}

void expect_same_array(const Array& a, const Array& b, const std::string& what) {
  EXPECT_EQ(a.type, b.type) << what;
  EXPECT_EQ(a.shape, b.shape) << what;
  ASSERT_EQ(a.values.size(), b.values.size()) << what;
  for (std::size_t k = 0; k < a.values.size(); ++k) {
    // float32 datasets round the values once.
    EXPECT_EQ(a.type == Array::Type::float32 ? double(float(a.values[k])) : a.values[k],
              b.values[k])
        << what << "[" << k << "]";
  }
}

void expect_same_fields(const std::map<std::string, nir::Field>& a,
                        const std::map<std::string, nir::Field>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (const auto& [name, field] : a) {
    ASSERT_EQ(b.count(name), 1u) << what << "/" << name;
    ASSERT_EQ(field.index(), b.at(name).index()) << what << "/" << name;
    if (const auto* text = std::get_if<std::string>(&field)) {
      EXPECT_EQ(*text, std::get<std::string>(b.at(name))) << what << "/" << name;
    } else {
      expect_same_array(std::get<Array>(field), std::get<Array>(b.at(name)), what + "/" + name);
    }
  }
}

class NirFileTest : public testing::TemporaryFolderTest {};

TEST_F(NirFileTest, ReadsBackWhatItWrote) {
  for (const Graph& graph : {small_graph(), conv_graph()}) {
    nir::write_file(graph, path("g.nir"));
    const Graph read = nir::read_file(path("g.nir"));
    EXPECT_EQ(read.edges, graph.edges);
    ASSERT_EQ(read.nodes.size(), graph.nodes.size());
    for (const auto& [name, node] : graph.nodes) {
      ASSERT_EQ(read.nodes.count(name), 1u) << name;
      EXPECT_EQ(read.nodes.at(name).type, node.type);
      expect_same_fields(node.fields, read.nodes.at(name).fields, name);
      expect_same_fields(node.metadata, read.nodes.at(name).metadata, name + "/metadata");
    }
    expect_same_fields(graph.metadata, read.metadata, "graph metadata");
    EXPECT_EQ(nir::read_version(path("g.nir")), nir::kWrittenVersion);
  }
}

TEST_F(NirFileTest, ReadsAndWritesNestedGraphs) {
  Graph outer;
  Graph inner = small_graph();
  inner.metadata.clear();
  outer.nodes["input"] = Node{"Input", {{"shape", Array::integers({3})}}, {}, nullptr};
  outer.nodes["block"] = Node{"NIRGraph", {}, {}, std::make_shared<Graph>(inner)};
  outer.nodes["output"] = Node{"Output", {{"shape", Array::integers({2})}}, {}, nullptr};
  outer.edges = {{"input", "block.input"}, {"block.output", "output"}};
  nir::write_file(outer, path("nested.nir"));
  const Graph read = nir::read_file(path("nested.nir"));
  ASSERT_TRUE(read.nodes.at("block").graph);
  EXPECT_EQ(read.nodes.at("block").graph->edges, inner.edges);
  EXPECT_EQ(read.nodes.at("block").graph->nodes.at("lif").type, "LIF");
  EXPECT_EQ(read.edges, outer.edges);
}

/// The number of attributes of object `name` in `file`.
int attribute_count(hid_t file, const char* name) {
  const hdf5::Handle object(H5Oopen(file, name, H5P_DEFAULT), H5Oclose);
  H5O_info_t info;
  H5Oget_info2(object.get(), &info, H5O_INFO_NUM_ATTRS);
  return int(info.num_attrs);
}

TEST_F(NirFileTest, WritesTheLayoutOfNirWrite) {
  nir::write_file(small_graph(), path("g.nir"));
  const hdf5::Handle file(H5Fopen(path("g.nir").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  ASSERT_TRUE(file.valid());
  // Strings are scalar variable-length UTF-8 datasets, as h5py.string_dtype() writes them.
  for (const char* name : {"/version", "/node/type", "/node/nodes/lif/type"}) {
    const hdf5::Handle dataset(H5Dopen2(file.get(), name, H5P_DEFAULT), H5Dclose);
    ASSERT_TRUE(dataset.valid()) << name;
    const hdf5::Handle type(H5Dget_type(dataset.get()), H5Tclose);
    EXPECT_GT(H5Tis_variable_str(type.get()), 0) << name;
    EXPECT_EQ(H5Tget_cset(type.get()), H5T_CSET_UTF8) << name;
    const hdf5::Handle space(H5Dget_space(dataset.get()), H5Sclose);
    EXPECT_EQ(H5Sget_simple_extent_type(space.get()), H5S_SCALAR) << name;
  }
  // Edges: (E, 2) strings.
  const hdf5::Handle edges(H5Dopen2(file.get(), "/node/edges", H5P_DEFAULT), H5Dclose);
  const hdf5::Handle space(H5Dget_space(edges.get()), H5Sclose);
  hsize_t dims[2] = {0, 0};
  ASSERT_EQ(H5Sget_simple_extent_ndims(space.get()), 2);
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  EXPECT_EQ(dims[0], 3u);
  EXPECT_EQ(dims[1], 2u);
  // Parameters as float32 arrays; an Input's shape as int64.
  const hdf5::Handle tau(H5Dopen2(file.get(), "/node/nodes/lif/tau", H5P_DEFAULT), H5Dclose);
  const hdf5::Handle tau_type(H5Dget_type(tau.get()), H5Tclose);
  EXPECT_GT(H5Tequal(tau_type.get(), H5T_IEEE_F32LE), 0);
  const hdf5::Handle shape(H5Dopen2(file.get(), "/node/nodes/input/shape", H5P_DEFAULT), H5Dclose);
  const hdf5::Handle shape_type(H5Dget_type(shape.get()), H5Tclose);
  EXPECT_GT(H5Tequal(shape_type.get(), H5T_STD_I64LE), 0);
  // No HDF5 attributes anywhere; empty metadata is not written.
  for (const char* name : {"/", "/node", "/node/nodes/lif", "/node/nodes/lif/metadata"}) {
    EXPECT_EQ(attribute_count(file.get(), name), 0) << name;
  }
  EXPECT_EQ(H5Lexists(file.get(), "/node/nodes/fc/metadata", H5P_DEFAULT), 0);
  EXPECT_GT(H5Lexists(file.get(), "/node/metadata/dt", H5P_DEFAULT), 0);
}

TEST_F(NirFileTest, NirsOwnReaderLoadsWhatItWrote) {
  for (const auto& [name, graph] : {std::pair{"dense", small_graph()}, {"conv", conv_graph()}}) {
    const std::filesystem::path file = path(std::string(name) + ".nir");
    nir::write_file(graph, file);
    const std::optional<nlohmann::json> read = testing::read_with_reference_nir(file);
    if (!read) GTEST_SKIP() << testing::kNoReferenceNir;
    ASSERT_FALSE(read->is_null()) << name;
    EXPECT_EQ(read->at("version"), nir::kWrittenVersion);
    for (const auto& [node_name, node] : graph.nodes) {
      ASSERT_TRUE(read->at("nodes").contains(node_name)) << node_name;
      const nlohmann::json& seen = read->at("nodes").at(node_name);
      EXPECT_EQ(seen.at("type"), node.type) << node_name;
      for (const auto& [field, value] : node.fields) {
        const Array& array = std::get<Array>(value);
        ASSERT_TRUE(seen.at("fields").contains(field)) << node_name << "/" << field << ": " << seen;
        const nlohmann::json& got = seen.at("fields").at(field);
        const std::vector<double> values = got["values"];
        ASSERT_EQ(values.size(), array.values.size()) << node_name << "/" << field;
        for (std::size_t k = 0; k < values.size(); ++k) {
          EXPECT_EQ(values[k], double(float(array.values[k]))) << node_name << "/" << field;
        }
      }
    }
    EXPECT_EQ(read->at("edges").size(), graph.edges.size());
  }
}

TEST_F(NirFileTest, RefusesGraphsNirWouldRefuse) {
  const auto refused = [&](Graph graph, const std::string& expected) {
    try {
      nir::write_file(graph, path("bad.nir"));
      ADD_FAILURE() << "accepted a graph that should fail with: " << expected;
    } catch (const nir::NirError& error) {
      EXPECT_NE(std::string(error.what()).find(expected), std::string::npos) << error.what();
    }
    EXPECT_FALSE(std::filesystem::exists(path("bad.nir")));
    EXPECT_FALSE(std::filesystem::exists(path("bad.nir.partial")));
  };
  Graph unknown = small_graph();
  unknown.nodes["lif"].type = "AdEx";
  refused(unknown, "/node/nodes/lif: unknown NIR primitive 'AdEx'");
  unknown.nodes["lif"].type = "Ad\nEx";  // a NIR error is one line, whatever text it quotes
  refused(unknown, "/node/nodes/lif: unknown NIR primitive 'Ad\\x0aEx'");
  Graph missing = small_graph();
  missing.nodes["lif"].fields.erase("tau");
  refused(missing, "/node/nodes/lif: LIF misses tau");
  Graph extra = small_graph();
  extra.nodes["lif"].fields["t_ref"] = Array::filled(2, 2.0);
  refused(extra, "LIF has unexpected t_ref");
  Graph dangling = small_graph();
  dangling.edges.emplace_back("lif", "nowhere");
  refused(dangling, "/node/edges/3: no node named 'nowhere'");
  // "GRAPH.NODE" names a node of a nested graph only: fc is no graph, and block has no 'nowhere'.
  Graph into_a_primitive = small_graph();
  into_a_primitive.edges.emplace_back("lif", "fc.weight");
  refused(into_a_primitive, "/node/edges/3: no node named 'fc.weight'");
  Graph into_a_nested_graph = small_graph();
  Graph inner = small_graph();
  inner.metadata.clear();
  into_a_nested_graph.nodes["block"] = Node{"NIRGraph", {}, {}, std::make_shared<Graph>(inner)};
  into_a_nested_graph.edges.emplace_back("lif", "block.nowhere");
  refused(into_a_nested_graph, "/node/edges/3: no node named 'block.nowhere'");
}

TEST_F(NirFileTest, ReadingADamagedFileGivesOneLine) {
  const auto read_error = [&](const std::filesystem::path& file) {
    try {
      nir::read_file(file);
    } catch (const nir::NirError& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(read_error(path("none.nir")), path("none.nir").string() + ": no such file");
  std::filesystem::create_directory(path("folder.nir"));
  EXPECT_EQ(read_error(path("folder.nir")), path("folder.nir").string() + ": not a file");
  std::ofstream(path("text.nir")) << "not hdf5";
  EXPECT_NE(read_error(path("text.nir")).find("not an HDF5 file"), std::string::npos);

  nir::write_file(small_graph(), path("g.nir"));
  {  // Removes a required field behind the writer's back.
    const hdf5::Handle file(H5Fopen(path("g.nir").c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
    H5Ldelete(file.get(), "/node/nodes/fc/bias", H5P_DEFAULT);
  }
  EXPECT_EQ(
      read_error(path("g.nir")),
      path("g.nir").string() + ": /node/nodes/fc: Affine misses bias (its fields: weight, bias)");
  // Edges that are not (E, 2) strings: a group, and a (1, 4) array.
  const auto replace_edges = [&](const std::function<void(hid_t root)>& write_edges) {
    nir::write_file(small_graph(), path("g.nir"));
    const hdf5::Handle file(H5Fopen(path("g.nir").c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
    const hdf5::Handle root(H5Gopen2(file.get(), "/node", H5P_DEFAULT), H5Gclose);
    H5Ldelete(root.get(), "edges", H5P_DEFAULT);
    write_edges(root.get());
  };
  const std::string bad_edges = path("g.nir").string() + ": /node/edges: expected ";
  replace_edges([](hid_t root) {
    H5Gclose(H5Gcreate2(root, "edges", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  });
  EXPECT_EQ(read_error(path("g.nir")), bad_edges + "a dataset of (E, 2) strings");
  replace_edges([](hid_t root) {
    const hdf5::Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type.get(), H5T_VARIABLE);
    const hsize_t dims[2] = {1, 4};
    const hdf5::Handle space(H5Screate_simple(2, dims, nullptr), H5Sclose);
    const hdf5::Handle edges(
        H5Dcreate2(root, "edges", type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
        H5Dclose);
    const char* ends[4] = {"input", "fc", "fc", "lif"};
    H5Dwrite(edges.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ends);
  });
  EXPECT_EQ(read_error(path("g.nir")), bad_edges + "(E, 2) strings");
  // A file truncated to half its size.
  nir::write_file(conv_graph(), path("c.nir"));
  std::filesystem::resize_file(path("c.nir"), std::filesystem::file_size(path("c.nir")) / 2);
  const std::string truncated = read_error(path("c.nir"));
  EXPECT_EQ(truncated.rfind(path("c.nir").string() + ": ", 0), 0u) << truncated;
  EXPECT_EQ(truncated.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace snnsim
