// Importing NIR graphs as layer graphs, against fixtures that NIR's reference package wrote, with
// the output an independent NumPy implementation of docs/export.md's NIR conventions computed
// (tools/reference/make_nir_fixtures.py writes tests/fixtures/nir/). Each fixture is imported,
// written, read back as a network file and run on its input [T, B, ...]: spikes must equal the
// reference's exactly, analog values lie within 1e-5 relative + 1e-6 absolute of them.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "export/nir_export.h"
#include "graph_test_support.h"
#include "networks/layer_graph_file.h"
#include "networks/nir_import.h"
#include "networks/npy.h"
#include "sim/graph/nir_neurons.h"
#include "test_support.h"

namespace snnsim {
namespace {

const std::string kFixtures = SNNSIM_SOURCE_DIR "/tests/fixtures/nir/";

class NirImport : public testing::TemporaryFolderTest {
 protected:
  /// Imports fixture `name` (or the NIR file `nir_file` instead of the fixture's) into this
  /// test's folder and loads it.
  LayerGraphSpec load(const std::string& name, std::size_t timesteps,
                      const NirImportOptions& options = {}, std::string nir_file = "") {
    if (nir_file.empty()) nir_file = kFixtures + name + ".nir";
    const ImportedNetwork network = import_nir_file(nir_file, name + ".h5", options);
    write_imported_network(network, path(name + ".json"), name + ".h5");
    document_ = network.document;
    return load_layer_graph_file(path(name + ".json"), {timesteps});
  }

  /// The ops of the imported network, by node.
  std::multiset<std::string> ops() const {
    std::multiset<std::string> kinds;
    for (const auto& node : document_["nodes"])
      kinds.insert(node["op"].get<std::string>());
    return kinds;
  }

  /// Runs fixture `name` on its input (every operator on its dense path when `dense`): the
  /// output, [T, B, ...] as the fixture's expected output; `load` as above.
  Value run_fixture(const std::string& name, bool dense = false,
                    const NirImportOptions& options = {}, const std::string& nir_file = "") {
    const NpyArray input = read_npy(kFixtures + name + ".input.npy");
    const std::size_t steps = input.shape[0], batch = input.shape[1];
    const LayerGraphSpec spec = load(name, steps, options, nir_file);
    Value x = Value::analog(Shape(input.shape.begin() + 2, input.shape.end()), steps, batch);
    EXPECT_EQ(x.shape, spec.graph->input_shape());
    x.dense = input.values;
    return spec.graph->run(x, false, dense).output;
  }

  /// The dimensions of `output` as a fixture's expected array has them: [T, B, ...].
  static std::vector<std::size_t> fixture_shape(const Value& output) {
    std::vector<std::size_t> shape{output.steps, output.batch};
    shape.insert(shape.end(), output.shape.begin(), output.shape.end());
    return shape;
  }

  /// Runs fixture `name` and compares the output with the reference's; `run_fixture` as above.
  void check(const std::string& name, bool dense = false, const NirImportOptions& options = {},
             const std::string& nir_file = "") {
    SCOPED_TRACE(name + (dense ? " (dense)" : ""));
    const NpyArray expected = read_npy(kFixtures + name + ".expected.npy");
    const Value output = run_fixture(name, dense, options, nir_file);
    ASSERT_EQ(fixture_shape(output), expected.shape);
    const std::vector<float> actual = output.densified();
    std::size_t differing = 0;
    std::ostringstream first;
    for (std::size_t k = 0; k < actual.size(); ++k) {
      const float tolerance =
          output.is_spikes() ? 0.0f : 1e-5f * std::fabs(expected.values[k]) + 1e-6f;
      if (std::fabs(actual[k] - expected.values[k]) <= tolerance) continue;
      if (++differing <= 5)
        first << "\n  [" << k << "] snnsim " << actual[k] << ", reference " << expected.values[k];
    }
    EXPECT_EQ(differing, 0u) << differing << " of " << actual.size() << " differ" << first.str();
  }

  nlohmann::json document_;
};

const char* const kFixtureNames[] = {
    "affine",      "avgpool2d",       "conv1d",  "conv2d",    "conv_net", "cubali",    "cubalif",
    "delay",       "delay_recurrent", "flatten", "i",         "if",       "li",        "lif",
    "lif_uniform", "linear",          "nested",  "recurrent", "scale",    "sumpool2d", "threshold"};

TEST_F(NirImport, EveryFixtureMatchesTheReference) {
  for (const char* name : kFixtureNames)
    check(name);
}

TEST_F(NirImport, DensePathsMatchTheReferenceToo) {
  for (const char* name : kFixtureNames)
    check(name, true);
}

TEST_F(NirImport, NeuronsMapToTheExistingOpsOnlyWhenExact) {
  load("lif", 4);
  EXPECT_EQ(ops(), (std::multiset<std::string>{"linear", "nir_lif"}));
  load("lif_uniform", 4);
  EXPECT_EQ(ops(), (std::multiset<std::string>{"linear", "lif"}));
  EXPECT_EQ(document_["nodes"][1]["decay_input"], true);
  EXPECT_NEAR(document_["nodes"][1]["tau"].get<double>(), 5.0, 1e-6);  // 5 ms at dt 1 ms
  load("if", 4);
  EXPECT_EQ(ops(), (std::multiset<std::string>{"linear", "nir_if"}));
  // r dt = 1 (the if op), r = tau / dt (lif without input decay).
  load("conv_net", 4);
  EXPECT_EQ(ops(), (std::multiset<std::string>{"conv2d", "if", "sumpool2d", "conv2d", "nir_lif",
                                               "avgpool2d", "flatten", "linear", "lif"}));
  for (const auto& node : document_["nodes"]) {
    if (node["op"] == "lif") {
      EXPECT_EQ(node["decay_input"], false);
    }
  }
}

TEST_F(NirImport, ShapesAndPrimitivesWithoutAnExactOp) {
  load("scale", 4);
  EXPECT_EQ(ops(), (std::multiset<std::string>{"nir_scale"}));
  load("flatten", 4);
  EXPECT_EQ(ops(), (std::multiset<std::string>{"reshape"}));
  EXPECT_EQ(document_["nodes"][0]["shape"], nlohmann::json({2, 12}));
  load("conv1d", 4);
  EXPECT_EQ(ops(), (std::multiset<std::string>{"reshape", "conv2d", "reshape"}));
  load("delay", 4);
  EXPECT_EQ(ops(), (std::multiset<std::string>{"delay", "delay", "delay"}));  // 3 steps
}

TEST_F(NirImport, UniformFactorsAndThresholdsUseTheExistingOps) {
  nir::Graph graph = nir::read_file(kFixtures + "scale.nir");
  // [2, 3]: one factor per channel (row).
  std::get<nir::Array>(graph.nodes.at("scale").fields.at("scale")).values = {2, 2, 2, -1, -1, -1};
  ImportedNetwork network = import_layer_graph(graph, "scale.nir", "scale.h5", {});
  EXPECT_EQ(network.document["nodes"][0]["op"], "scale");
  ASSERT_EQ(network.tensors.size(), 1u);
  EXPECT_EQ(network.tensors[0].second.values, (std::vector<double>{2, -1}));
  graph = nir::read_file(kFixtures + "threshold.nir");
  std::get<nir::Array>(graph.nodes.at("th").fields.at("threshold")).values.assign(6, 0.5);
  network = import_layer_graph(graph, "threshold.nir", "threshold.h5", {});
  EXPECT_EQ(network.document["nodes"][0]["op"], "threshold");
  EXPECT_TRUE(network.tensors.empty());
}

TEST_F(NirImport, CyclesWithoutADelayReadThePreviousStep) {
  load("recurrent", 4);
  EXPECT_EQ(ops(), (std::multiset<std::string>{"linear", "add", "nir_lif", "linear", "delay"}));
  load("delay_recurrent", 4);
  // The cycle has its Delay (two steps): nothing is inserted.
  EXPECT_EQ(ops(),
            (std::multiset<std::string>{"linear", "add", "nir_lif", "delay", "delay", "linear"}));
  // snnTorch's recurrent layers: a nested graph, its recurrence without a Delay.
  load("nested", 4);
  std::set<std::string> names;
  for (const auto& node : document_["nodes"])
    names.insert(node["name"].get<std::string>());
  EXPECT_EQ(names, (std::set<std::string>{"fc", "rlif.lif.sum1", "rlif.lif", "rlif.w_rec",
                                          "rlif.lif.previous", "readout"}));
}

// snnsim export nir, then import: the same ops with the same parameters, the same outputs.
TEST_F(NirImport, ExportThenImportGivesTheSameNetworkAndSpikes) {
  for (const std::string name : {"conv-snn", "linear-snn"}) {
    SCOPED_TRACE(name);
    const std::string example = SNNSIM_SOURCE_DIR "/examples/" + name + ".json";
    NirExportOptions options;
    options.approximate = true;  // soft resets, marked in the nodes' metadata
    nir::write_file(export_nir(example, {}, options).graph, path(name + ".nir"));
    const ImportedNetwork network = import_nir_file(path(name + ".nir"), name + ".h5", {});
    write_imported_network(network, path(name + ".json"), name + ".h5");
    const LayerGraphSpec original = load_layer_graph_file(example);
    const LayerGraphSpec imported = load_layer_graph_file(path(name + ".json"));
    const LayerGraph &a = *original.graph, &b = *imported.graph;
    ASSERT_EQ(a.timesteps(), b.timesteps());
    ASSERT_EQ(a.nodes().size(), b.nodes().size());
    for (std::size_t n = 1; n < a.nodes().size(); ++n) {
      EXPECT_EQ(a.nodes()[n].name, b.nodes()[n].name);
      EXPECT_EQ(a.nodes()[n].op->kind(), b.nodes()[n].op->kind()) << a.nodes()[n].name;
    }
    std::mt19937 rng(7);
    const Value x = random_input(a.input_shape(), InputKind::analog, a.timesteps(), 3, 0.0, rng);
    const GraphRun ra = a.run(x, true), rb = b.run(x, true);
    for (std::size_t k = 0; k < ra.nodes.size(); ++k) {
      if (!ra.spike_values[k].is_spikes()) continue;
      EXPECT_GT(ra.spike_values[k].spikes->events(), 0u) << ra.nodes[k].name;
      EXPECT_EQ(ra.spike_values[k].densified(), rb.spike_values[k].densified()) << ra.nodes[k].name;
    }
    EXPECT_EQ(ra.output.densified(), rb.output.densified());
  }
}

// Older nir versions name a nested graph's nodes in edges ("rlif.input"): the same network.
TEST_F(NirImport, EdgesMayNameTheNodesOfANestedGraph) {
  nir::Graph graph = nir::read_file(kFixtures + "nested.nir");
  const ImportedNetwork plain = import_layer_graph(graph, "nested.nir", "nested.h5", {});
  for (auto& [from, to] : graph.edges) {
    if (to == "rlif") to = "rlif.input";
    if (from == "rlif") from = "rlif.output";
  }
  const ImportedNetwork dotted = import_layer_graph(graph, "nested.nir", "nested.h5", {});
  EXPECT_EQ(plain.document, dotted.document);
}

// snnTorch writes scalar parameters and no dt: they are broadcast to the layer, dt comes from
// --dt. lif_uniform's parameters are uniform, so its expected output holds.
TEST_F(NirImport, SingleValuedParametersAreBroadcastAndDtGiven) {
  nir::Graph graph = nir::read_file(kFixtures + "lif_uniform.nir");
  graph.metadata.clear();
  for (auto& [field, value] : graph.nodes.at("lif").fields) {
    nir::Array& array = std::get<nir::Array>(value);
    array = nir::Array::floats({array.values[0]}, {1});
  }
  nir::write_file(graph, path("scalar.nir"));
  NirImportOptions options;
  options.dt_s = 1e-3;
  check("lif_uniform", false, options, path("scalar.nir").string());
  EXPECT_EQ(ops(), (std::multiset<std::string>{"linear", "lif"}));
}

// Graphs that snnTorch 1.0.0's export_to_nir wrote, against snnTorch's own output spikes
// (tools/reference/make_snntorch_fixtures.py). snnTorch writes no dt; its export computes
// tau = dt / (1 - beta) and r = tau / dt with dt = 1e-4 s, so that NIR's forward Euler step at
// that dt is snnTorch's U <- beta U + I. It writes no reset mode: every neuron resets to 0.
const double kSnnTorchDt = 1e-4;

TEST_F(NirImport, SnnTorchGraphsWithAResetToZeroGiveSnnTorchsSpikes) {
  NirImportOptions options;
  options.dt_s = kSnnTorchDt;
  // Leaky's reset to zero, delayed (reset_delay=True, the default) or not, zeroes the membrane
  // before the next step's beta U + I: NIR's reset in the spike's step. Synaptic and RLeaky do so
  // with reset_delay=False. RLeaky adds its recurrent Affine of the previous step's spikes, its
  // bias in the first step.
  for (const char* name : {"snntorch_leaky_zero", "snntorch_synaptic", "snntorch_rleaky"})
    check(name, false, options);
  EXPECT_EQ(ops(), (std::multiset<std::string>{"linear", "add", "lif", "linear", "delay", "linear",
                                               "lif"}));
}

// snnTorch's other resets differ from NIR's by design, so the spikes differ after a neuron's
// first spike: with reset_mechanism="subtract" (the default) and reset_delay=True, snnTorch
// subtracts the threshold in the step after the spike from the unreset membrane, where the
// graph, which records no reset mode, resets to 0 in the spike's step; Synaptic and RLeaky with
// reset_mechanism="zero" and reset_delay=True hold the membrane at 0 for the step after a spike,
// dropping that step's input. A NumPy run of these same files with snnTorch's rules gives its
// spikes exactly, and one with NIR's gives snnsim's, so the gap is the reset alone. The bounds
// hold the measured agreement (docs/export.md, "Other tools"), with a margin.
TEST_F(NirImport, SnnTorchGraphsWithDelayedResetsAgreeWithinAStatedBound) {
  NirImportOptions options;
  options.dt_s = kSnnTorchDt;
  struct Bound {
    const char* name;
    double equal;         ///< the least fraction of equal outputs (step, sample, neuron)
    double count_change;  ///< the most |snnsim's spike count / snnTorch's - 1|
  };
  // Measured: 0.756 equal, -12.7 %; 0.662, +33.8 %; 0.871, +18.9 %.
  for (const Bound& bound : {Bound{"snntorch_leaky_subtract", 0.70, 0.20},
                             Bound{"snntorch_synaptic_delayed", 0.60, 0.45},
                             Bound{"snntorch_rleaky_delayed", 0.80, 0.30}}) {
    SCOPED_TRACE(bound.name);
    const NpyArray expected = read_npy(kFixtures + bound.name + ".expected.npy");
    const Value output = run_fixture(bound.name, false, options);
    ASSERT_EQ(fixture_shape(output), expected.shape);
    const std::vector<float> actual = output.densified();
    double equal = 0, ours = 0, theirs = 0;
    for (std::size_t k = 0; k < actual.size(); ++k) {
      equal += actual[k] == expected.values[k];
      ours += actual[k];
      theirs += expected.values[k];
    }
    equal /= actual.size();
    std::printf("%s: %.3f of the outputs equal, spike count %+.1f %% (%g here, %g snnTorch)\n",
                bound.name, equal, 100 * (ours / theirs - 1), ours, theirs);
    EXPECT_GE(equal, bound.equal);
    EXPECT_LE(std::fabs(ours / theirs - 1), bound.count_change);
  }
}

// The nir_* neurons against docs/neurons.md's equations, written out here per neuron in double
// precision from float32 state: both schedules (all steps at once, and step by step as graphs
// with delays run), the initial state (v_leak, 0 for nir_if and nir_i) and both resets.
TEST_F(NirImport, NirNeuronsFollowTheirEquationsInBothSchedules) {
  const std::size_t steps = 30, batch = 2, n = 3;
  const double dt = 1e-3;
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  Value x = Value::analog({n}, steps, batch);
  for (float& value : x.dense)
    value = 3.0f * uniform(rng) - 0.5f;
  // One value per neuron and parameter; v_leak away from 0 shows where membranes start.
  const auto parameter = [](NirParameter p, std::size_t k) -> float {
    switch (p) {
      case NirParameter::tau:
      case NirParameter::tau_mem:
        return 0.004f + 0.002f * k;
      case NirParameter::tau_syn:
        return 0.003f;
      case NirParameter::r:
        return 60.0f + 20.0f * k;
      case NirParameter::v_leak:
        return 0.25f;
      case NirParameter::v_threshold:
        return 0.5f + 0.1f * k;
      case NirParameter::v_reset:
        return -0.1f;
      case NirParameter::w_in:
        return 1.5f;
      default:
        return 0.0f;
    }
  };
  for (const NirModel model : {NirModel::lif, NirModel::if_, NirModel::cuba_lif, NirModel::li,
                               NirModel::cuba_li, NirModel::i}) {
    for (const bool subtract : {false, true}) {
      if (subtract && !NirNeuronLayer::spiking(model)) continue;
      NirNeuronLayer layer(model, dt, subtract);
      SCOPED_TRACE(std::string(layer.kind()) + (subtract ? " (subtract)" : ""));
      const std::vector<Shape> shapes{{n}};
      layer.bind(shapes);
      for (const NirParameter p : NirNeuronLayer::parameters(model)) {
        std::vector<float> values;
        for (std::size_t k = 0; k < n; ++k)
          values.push_back(parameter(p, k));
        layer.set_weight(NirNeuronLayer::parameter_name(p), values);
      }
      // The equations, neuron by neuron.
      std::vector<float> expected(steps * batch * n);
      const auto param = [&](NirParameter p, std::size_t k) { return double(parameter(p, k)); };
      const bool leaky = model != NirModel::if_ && model != NirModel::i;
      for (std::size_t b = 0; b < batch; ++b) {
        for (std::size_t k = 0; k < n; ++k) {
          float v = leaky ? parameter(NirParameter::v_leak, k) : 0.0f, c = 0.0f;
          for (std::size_t t = 0; t < steps; ++t) {
            const double in = x.dense[(t * batch + b) * n + k];
            double u = v;
            if (model == NirModel::lif || model == NirModel::li) {
              u += dt / param(NirParameter::tau, k) *
                   (param(NirParameter::v_leak, k) - u + param(NirParameter::r, k) * in);
            } else if (model == NirModel::if_ || model == NirModel::i) {
              u += dt * param(NirParameter::r, k) * in;
            } else {
              const double current = c + dt / param(NirParameter::tau_syn, k) *
                                             (param(NirParameter::w_in, k) * in - c);
              u += dt / param(NirParameter::tau_mem, k) *
                   (param(NirParameter::v_leak, k) - u + param(NirParameter::r, k) * current);
              c = static_cast<float>(current);
            }
            float out = static_cast<float>(u);
            if (NirNeuronLayer::spiking(model)) {
              const bool spike = u > param(NirParameter::v_threshold, k);
              if (spike)
                u = subtract ? u - param(NirParameter::v_threshold, k)
                             : param(NirParameter::v_reset, k);
              out = spike ? 1.0f : 0.0f;
            }
            v = static_cast<float>(u);
            expected[(t * batch + b) * n + k] = out;
          }
        }
      }
      OpCounts counts;
      const Value* inputs[] = {&x};
      const Value all = layer.forward(inputs, counts);
      Value stepped;
      StepContext context;
      for (std::size_t t = 0; t < steps; ++t) {
        const Value step = x.step(t);
        const Value* step_inputs[] = {&step};
        context.step = t;
        const Value y = layer.forward_step(step_inputs, counts, context);
        if (t == 0) {
          stepped = y;
        } else {
          stepped.append_step(y);
        }
      }
      EXPECT_EQ(all.is_spikes(), NirNeuronLayer::spiking(model));
      EXPECT_EQ(all.densified(), expected);
      EXPECT_EQ(stepped.densified(), expected);
      if (NirNeuronLayer::spiking(model)) {
        const std::vector<float> spikes = all.densified();
        EXPECT_GT(std::count(spikes.begin(), spikes.end(), 1.0f), 10);
      }
    }
  }
}

// A reshape's sizes come from the network file: none, or so many that their count overflows,
// is refused when the graph is built.
TEST_F(NirImport, ReshapeRefusesAnEmptyOrOverflowingShape) {
  const std::vector<Shape> input{{4}};
  EXPECT_EQ(Reshape({2, 2}).bind(input), (Shape{2, 2}));
  EXPECT_THROW(Reshape({}).bind(input), GraphError);
  const std::size_t big = std::size_t{1} << 31;
  EXPECT_THROW(Reshape({big, big, big, 4}).bind(input), GraphError);  // 2^95 elements, 0 wrapped
  EXPECT_THROW(Reshape({big, big, 4, 2, 0}).bind(input), GraphError);
}

/// The message of the NirError `call` throws ("" when it throws none).
template <class Call>
std::string error_of(Call call) {
  try {
    call();
  } catch (const nir::NirError& error) {
    return error.what();
  }
  return "";
}

TEST_F(NirImport, AMissingTimeStepAsksForDt) {
  nir::Graph graph = nir::read_file(kFixtures + "lif.nir");
  graph.metadata.clear();
  const std::string message = error_of([&] { import_layer_graph(graph, "lif.nir", "lif.h5", {}); });
  EXPECT_EQ(message.find("lif.nir: /node/metadata: no time step"), 0u) << message;
  // No tool that writes NIR records its dt, and each needs another: the message lists the one
  // measured for each (tools/reference/nir_peer_time_steps.py), not one guess for all.
  for (const char* writer :
       {"snnTorch --dt 0.1ms", "Norse --dt 1us", "Sinabs --dt 1s", "Rockpool the module's dt"})
    EXPECT_NE(message.find(writer), std::string::npos) << writer << ": " << message;
  EXPECT_EQ(message.find('\n'), std::string::npos);
  NirImportOptions options;
  options.dt_s = 1e-3;
  EXPECT_NO_THROW(import_layer_graph(graph, "lif.nir", "lif.h5", options));
  // Without neurons or delays the time step does not matter.
  EXPECT_NO_THROW(
      import_layer_graph(nir::read_file(kFixtures + "affine.nir"), "affine.nir", "affine.h5", {}));
}

TEST_F(NirImport, RefusedConstructsNameTheNode) {
  nir::Graph graph = nir::read_file(kFixtures + "conv2d.nir");
  std::get<nir::Array>(graph.nodes.at("conv").fields.at("dilation")).values = {2, 2};
  std::string message = error_of([&] { import_layer_graph(graph, "conv2d.nir", "conv2d.h5", {}); });
  EXPECT_EQ(message,
            "conv2d.nir: /node/nodes/conv/dilation: a dilation of 2 is not supported (conv2d has "
            "none)");
  graph = nir::read_file(kFixtures + "delay.nir");
  std::get<nir::Array>(graph.nodes.at("delay").fields.at("delay")).values = {3e-3, 3e-3, 1e-3,
                                                                             3e-3};
  message = error_of([&] { import_layer_graph(graph, "delay.nir", "delay.h5", {}); });
  EXPECT_EQ(message.find("delay.nir: /node/nodes/delay/delay: delays of different numbers"), 0u)
      << message;
  graph = nir::read_file(kFixtures + "affine.nir");
  graph.edges.emplace_back("in", "fc");
  graph.nodes.at("fc").fields.at("weight") =
      nir::Array::floats(std::vector<double>(10, 1.0), {2, 5});
  message = error_of([&] { import_layer_graph(graph, "affine.nir", "affine.h5", {}); });
  EXPECT_EQ(message.find("affine.nir: /node/nodes/fc: the weight takes 5 inputs"), 0u) << message;
}

/// Imports `graph` (read from fixture `name`): the error, which must be one line naming the file.
std::string import_error(const nir::Graph& graph, const std::string& name,
                         const NirImportOptions& options = {}) {
  const std::string message =
      error_of([&] { import_layer_graph(graph, name + ".nir", name + ".h5", options); });
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  return message;
}

nir::Array& field(nir::Graph& graph, const std::string& node, const std::string& name) {
  return std::get<nir::Array>(graph.nodes.at(node).fields.at(name));
}

// A NaN or infinity anywhere in a NIR file's numbers (weights included, which the importers copy
// as they are) is refused naming the field and the first bad element.
TEST_F(NirImport, NonFiniteNumbersInAFileAreRefusedNamingTheFieldAndElement) {
  nir::Graph graph = nir::read_file(kFixtures + "affine.nir");
  field(graph, "fc", "weight").values[3] = std::numeric_limits<double>::quiet_NaN();
  nir::write_file(graph, path("nan.nir"));
  EXPECT_EQ(error_of([&] { import_nir_file(path("nan.nir"), "nan.h5", {}); }),
            path("nan.nir").string() +
                ": /node/nodes/fc/weight: expected finite values; element 3 is nan");
}

// A neuron's parameters must be finite and its time constants positive: a zero or NaN tau would
// otherwise run as infinite or NaN membranes.
TEST_F(NirImport, NonFiniteParametersAndNonPositiveTimeConstantsAreRefused) {
  for (const double tau : {0.0, -1e-3, std::nan("")}) {
    nir::Graph graph = nir::read_file(kFixtures + "lif.nir");
    field(graph, "lif", "tau").values[1] = tau;
    EXPECT_EQ(import_error(graph, "lif"),
              "lif.nir: /node/nodes/lif/tau: expected positive, finite time constants");
  }
  nir::Graph graph = nir::read_file(kFixtures + "cubalif.nir");
  int neurons = 0;
  for (auto& [name, node] : graph.nodes) {
    if (node.type != "CubaLIF") continue;
    ++neurons;
    field(graph, name, "v_threshold").values[0] = std::numeric_limits<double>::infinity();
    EXPECT_EQ(
        import_error(graph, "cubalif"),
        "cubalif.nir: /node/nodes/" + name + "/v_threshold: expected finite values; found inf");
  }
  EXPECT_EQ(neurons, 1);
}

// Sizes and counts from the file are checked before they are used: each bad one is refused with
// one line naming the place, never a crash, a huge allocation or a network that fails later.
TEST_F(NirImport, MalformedSizesAreRefusedNamingThePlace) {
  const auto read = [](const std::string& name) {
    return nir::read_file(kFixtures + name + ".nir");
  };
  nir::Graph graph = read("affine");
  for (const double size : {std::nan(""), 2.5, 1e30, -1.0, 0.0}) {
    field(graph, "in", "shape").values = {size};
    EXPECT_EQ(import_error(graph, "affine").find("affine.nir: /node/nodes/in/shape: expected"), 0u)
        << size;
  }
  field(graph, "in", "shape").values = {65536, 65536, 65536};
  EXPECT_EQ(import_error(graph, "affine").find("affine.nir: /node/nodes/in/shape: expected"), 0u);
  // A layer of no neurons, with parameters broadcast from single values.
  graph = read("lif_uniform");
  graph.nodes.at("fc").fields.at("weight") = nir::Array::floats({}, {0, 4});
  graph.nodes.at("fc").fields.at("bias") = nir::Array::floats({}, {0});
  for (auto& [name, value] : graph.nodes.at("lif").fields)
    std::get<nir::Array>(value) = nir::Array::floats({0.5}, {1});
  EXPECT_EQ(import_error(graph, "lif_uniform").find("lif_uniform.nir: /node/nodes/fc: "), 0u);
  graph = read("conv2d");
  for (const std::vector<double>& groups :
       std::vector<std::vector<double>>{{}, {-1}, {1.5}, {1e30}}) {
    field(graph, "conv", "groups").values = groups;
    EXPECT_EQ(import_error(graph, "conv2d").find("conv2d.nir: /node/nodes/conv/groups: expected"),
              0u);
  }
  graph = read("conv2d");
  field(graph, "conv", "stride").values = {-1};
  EXPECT_EQ(import_error(graph, "conv2d").find("conv2d.nir: /node/nodes/conv/stride: expected"),
            0u);
  graph = read("conv2d");
  graph.nodes.at("conv").fields.at("padding") = std::string("full");
  EXPECT_EQ(import_error(graph, "conv2d").find("conv2d.nir: /node/nodes/conv/padding: expected"),
            0u);
  graph = read("flatten");
  field(graph, "flat", "start_dim").values.clear();
  EXPECT_EQ(
      import_error(graph, "flatten").find("flatten.nir: /node/nodes/flat/start_dim: expected"), 0u);
  graph = read("flatten");
  field(graph, "flat", "input_type").values = {std::nan(""), 3, 4};
  EXPECT_EQ(import_error(graph, "flatten"),
            "flatten.nir: /node/nodes/flat: its input_type is [nan, 3, 4]; its input has shape "
            "[2, 3, 4]");
  // A delay of a billion steps would be a chain of a billion nodes.
  graph = read("delay");
  field(graph, "delay", "delay").values.assign(4, 1e6);
  EXPECT_EQ(import_error(graph, "delay").find("delay.nir: /node/nodes/delay/delay: "), 0u);
}

TEST_F(NirImport, MalformedEdgesAreRefusedNamingThePlace) {
  nir::Graph graph = nir::read_file(kFixtures + "affine.nir");
  graph.edges.emplace_back("fc", "in");
  EXPECT_EQ(import_error(graph, "affine"),
            "affine.nir: /node/nodes/in: an edge leads into the Input node (from fc)");
  graph = nir::read_file(kFixtures + "affine.nir");
  graph.edges.emplace_back("out", "out");
  EXPECT_EQ(import_error(graph, "affine"),
            "affine.nir: /node/nodes/out: an edge leaves the Output node (to out)");
  // An Output fed by nothing, and a graph without edges.
  graph = nir::read_file(kFixtures + "affine.nir");
  graph.edges.pop_back();
  EXPECT_EQ(import_error(graph, "affine"),
            "affine.nir: /node/nodes/out: not reachable from the Input node in");
  graph.edges.clear();
  EXPECT_EQ(import_error(graph, "affine").find("affine.nir: /node/nodes/"), 0u);
  // Self-loops are cycles: a neuron's reads its previous step.
  graph = nir::read_file(kFixtures + "lif.nir");
  graph.edges.emplace_back("lif", "lif");
  const ImportedNetwork network = import_layer_graph(graph, "lif.nir", "lif.h5", {});
  EXPECT_EQ(network.notes.front(),
            "the edge lif -> lif closes a cycle without a Delay: it reads the previous step (a "
            "one-step delay is inserted on lif -> lif)");
  // A node of the top graph named as a nested graph's node would be.
  graph = nir::read_file(kFixtures + "nested.nir");
  graph.nodes["rlif.lif"] = graph.nodes.at("readout");
  EXPECT_EQ(import_error(graph, "nested"),
            "nested.nir: /node/nodes/rlif.lif: its flattened name 'rlif.lif' is also that of "
            "/node/nodes/rlif/nodes/lif");
}

TEST_F(NirImport, ADamagedFileIsOneLineNamingIt) {
  std::ifstream in(kFixtures + "lif.nir", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream(path("lif.nir"), std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  const std::string message = error_of([&] { import_nir_file(path("lif.nir"), "lif.h5", {}); });
  EXPECT_EQ(message.find(path("lif.nir").string() + ":"), 0u) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

}  // namespace
}  // namespace snnsim
