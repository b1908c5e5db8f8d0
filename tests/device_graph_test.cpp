// Layer graphs on a device (sim/graph/device_graph.h), run here on the emulated device: every
// kernel body and the whole runner execute on the CPU, products through OpenBLAS. Each operator,
// and whole graphs (the golden fixtures and the examples), must give the CPU's LayerGraph::run
// result: the same spikes, the same per-node counts, and outputs within float rounding (the
// device sums products in GEMM order, the CPU in event order).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <random>
#include <sstream>

#include "encoders/input_encoder.h"
#include "graph_test_support.h"
#include "networks/layer_graph_file.h"
#include "networks/npy.h"
#include "sim/emulated_device.h"
#include "sim/graph/device_graph.h"
#include "sim/graph/graph_executor.h"
#include "test_support.h"

namespace snnsim {
namespace {

constexpr std::size_t kSteps = 4, kBatch = 3;

/// A random input of `shape` over kSteps x kBatch: analog values (normal, `scale`) or spikes at
/// 30 % density.
Value random_input(const Shape& shape, InputKind kind, std::mt19937& rng, float scale = 1.0f) {
  return random_input(shape, kind, kSteps, kBatch, 0.3, rng, scale);
}

/// `actual` within 1e-5 relative of `expected`, plus 1e-5 of the largest |expected| for values
/// that cancel towards 0 (the two sides add the same products in different orders).
void expect_close(const std::string& what, const std::vector<float>& actual,
                  const std::vector<float>& expected) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  float largest = 0.0f;
  for (float e : expected)
    largest = std::max(largest, std::fabs(e));
  std::size_t differing = 0;
  std::ostringstream first;
  for (std::size_t k = 0; k < actual.size(); ++k) {
    if (std::fabs(actual[k] - expected[k]) <= 1e-5f * (std::fabs(expected[k]) + largest)) continue;
    if (++differing <= 5)
      first << "\n  [" << k << "] device " << actual[k] << ", cpu " << expected[k];
  }
  EXPECT_EQ(differing, 0u) << what << ": " << differing << " of " << actual.size()
                           << " values differ" << first.str();
}

void expect_same_spikes(const std::string& what, const SpikeTrain& actual,
                        const SpikeTrain& expected) {
  EXPECT_EQ(actual.kind, expected.kind) << what;
  EXPECT_EQ(actual.steps, expected.steps) << what;
  EXPECT_EQ(actual.batch, expected.batch) << what;
  EXPECT_EQ(actual.features, expected.features) << what;
  EXPECT_EQ(actual.offsets, expected.offsets) << what;
  EXPECT_EQ(actual.indices, expected.indices) << what;
  EXPECT_EQ(actual.levels, expected.levels) << what;
  EXPECT_EQ(actual.amplitude, expected.amplitude) << what;
}

/// The device run against the CPU run: reports equal, kept spikes identical, output close
/// (identical when it is spikes).
void expect_same_run(const std::string& what, const GraphRun& actual, const GraphRun& expected) {
  ASSERT_EQ(actual.nodes.size(), expected.nodes.size()) << what;
  ASSERT_EQ(actual.spike_values.size(), expected.spike_values.size()) << what;
  for (std::size_t n = 0; n < expected.nodes.size(); ++n) {
    const NodeReport &a = actual.nodes[n], &e = expected.nodes[n];
    const std::string node = what + ", node " + e.name;
    EXPECT_EQ(a.name, e.name) << node;
    EXPECT_EQ(a.kind, e.kind) << node;
    EXPECT_EQ(a.shape, e.shape) << node;
    EXPECT_EQ(a.spiking, e.spiking) << node;
    EXPECT_EQ(a.spikes, e.spikes) << node;
    EXPECT_EQ(a.per_step, e.per_step) << node;
    EXPECT_EQ(a.counts.macs, e.counts.macs) << node;
    EXPECT_EQ(a.counts.acs, e.counts.acs) << node;
    EXPECT_DOUBLE_EQ(a.firing_rate, e.firing_rate) << node;
    EXPECT_EQ(actual.spike_values[n].is_spikes(), expected.spike_values[n].is_spikes()) << node;
    if (actual.spike_values[n].is_spikes() && expected.spike_values[n].is_spikes()) {
      expect_same_spikes(node + " spikes", *actual.spike_values[n].spikes,
                         *expected.spike_values[n].spikes);
    }
  }
  const Value &a = actual.output, &e = expected.output;
  EXPECT_EQ(a.shape, e.shape) << what;
  EXPECT_EQ(a.steps, e.steps) << what;
  EXPECT_EQ(a.batch, e.batch) << what;
  ASSERT_EQ(a.is_spikes(), e.is_spikes()) << what << ": output";
  if (e.is_spikes()) {
    expect_same_spikes(what + ": output", *a.spikes, *e.spikes);
  } else {
    expect_close(what + ": output", a.dense, e.dense);
  }
}

GraphRun run_emulated(const LayerGraph& graph, const Value& input, bool keep_spikes = true) {
  DeviceGraphRunner<EmulatedDevice> runner(graph);
  return runner.run(input, keep_spikes);
}

/// Runs `input` through `graph` on the CPU and on the emulated device and compares; returns
/// the CPU run (for checks that the comparison had something to compare).
GraphRun compare(const std::string& what, const LayerGraph& graph, const Value& input) {
  const GraphRun expected = graph.run(input, true);
  const GraphRun actual = run_emulated(graph, input);
  expect_same_run(what, actual, expected);
  return expected;
}

/// A graph of one operator fed by the input; weights random.
std::unique_ptr<LayerGraph> one_op_graph(const Shape& input_shape, std::unique_ptr<LayerOp> op,
                                         std::mt19937& rng) {
  auto graph = std::make_unique<LayerGraph>(input_shape, kSteps);
  const std::size_t n = graph->add_node("op", std::move(op));
  graph->connect(0, n, 0);
  graph->set_output(n);
  graph->bind();
  LayerOp& bound = *graph->nodes()[n].op;
  for (const WeightSpec& spec : bound.weight_specs())
    bound.set_weight(spec.name, random_values(element_count(spec.shape), rng, 0.5f));
  return graph;
}

TEST(DeviceGraph, LinearMatchesTheCpu) {
  std::mt19937 rng(1);
  for (const bool bias : {true, false}) {
    for (const Shape& shape : {Shape{7}, Shape{3, 6}}) {  // a vector, and 3 tokens of 6
      auto graph = one_op_graph(
          shape, std::make_unique<Linear>(LinearParameters{shape.back(), 5, bias}), rng);
      for (const InputKind kind : kInputKinds) {
        const GraphRun cpu =
            compare(std::string("linear ") + shape_string(shape) + " " + kind_name(kind), *graph,
                    random_input(shape, kind, rng));
        EXPECT_GT(cpu.nodes[0].counts.acs + cpu.nodes[0].counts.macs, 0u);
      }
    }
  }
}

TEST(DeviceGraph, Conv2dMatchesTheCpu) {
  std::mt19937 rng(2);
  struct Case {
    const char* name;
    Shape input;
    Conv2dParameters p;
  };
  const Case cases[] = {
      {"3x3 padded", {3, 7, 5}, {3, 4, 3, 3, 1, 1, 1, 1, 1, true, {}}},
      {"3x2 strided, groups 2", {4, 7, 6}, {4, 6, 3, 2, 2, 1, 1, 0, 2, true, {}}},
      {"depthwise stride 2", {4, 6, 7}, {4, 4, 3, 3, 2, 2, 1, 1, 4, false, {}}},
      {"1x1 (no im2col)", {5, 4, 3}, {5, 3, 1, 1, 1, 1, 0, 0, 1, true, {}}},
      {"5x5 padding 2 stride 3", {2, 9, 8}, {2, 3, 5, 5, 3, 3, 2, 2, 1, true, {}}},
  };
  for (const Case& c : cases) {
    auto graph = one_op_graph(c.input, std::make_unique<Conv2d>(c.p), rng);
    for (const InputKind kind : kInputKinds) {
      const GraphRun cpu = compare(std::string("conv2d ") + c.name + " " + kind_name(kind), *graph,
                                   random_input(c.input, kind, rng));
      EXPECT_GT(kind == InputKind::analog ? cpu.nodes[0].counts.macs : cpu.nodes[0].counts.acs, 0u);
    }
  }
}

TEST(DeviceGraph, PoolingAndUpsamplingMatchTheCpu) {
  std::mt19937 rng(3);
  const Shape input{3, 7, 6};
  const Pool2dParameters pools[] = {
      {PoolKind::max, 2, 2, 2, 2, 0, 0},     {PoolKind::max, 3, 3, 2, 2, 1, 1},
      {PoolKind::average, 2, 2, 2, 2, 0, 0}, {PoolKind::average, 3, 2, 1, 2, 1, 0},
      {PoolKind::sum, 3, 3, 2, 1, 1, 1},
  };
  for (const Pool2dParameters& p : pools) {
    auto graph = one_op_graph(input, std::make_unique<Pool2d>(p), rng);
    for (const InputKind kind : kInputKinds) {
      compare(std::string(graph->nodes()[1].op->kind()) + " k" + std::to_string(p.kernel_h) + " s" +
                  std::to_string(p.stride_h) + " p" + std::to_string(p.padding_h) + " " +
                  kind_name(kind),
              *graph, random_input(input, kind, rng));
    }
  }
  auto global = one_op_graph(input, std::make_unique<GlobalAveragePool>(), rng);
  auto upsample = one_op_graph(input, std::make_unique<Upsample>(2), rng);
  for (const InputKind kind : kInputKinds) {
    compare(std::string("global_avgpool ") + kind_name(kind), *global,
            random_input(input, kind, rng));
    const GraphRun cpu = compare(std::string("upsample ") + kind_name(kind), *upsample,
                                 random_input(input, kind, rng));
    EXPECT_EQ(cpu.output.is_spikes(), kind != InputKind::analog);
  }
}

TEST(DeviceGraph, NeuronLayersGiveTheCpusSpikes) {
  std::mt19937 rng(4);
  const Shape shape{5, 3, 7};
  std::vector<std::pair<std::string, std::function<std::unique_ptr<LayerOp>()>>> layers = {
      {"lif", [] { return std::make_unique<LifLayer>(LifParameters{}, true); }},
      {"lif tau 3, no input decay, soft reset",
       [] {
         return std::make_unique<LifLayer>(LifParameters{3.0, 0.8, std::nullopt, false}, true);
       }},
      {"lif v_reset -0.2",
       [] {
         return std::make_unique<LifLayer>(LifParameters{1.5, 1.0, -0.2, true}, true);
       }},
      {"if soft",
       [] {
         return std::make_unique<LifLayer>(LifParameters{2.0, 1.0, std::nullopt, true}, false);
       }},
      {"if hard", [] { return std::make_unique<LifLayer>(LifParameters{}, false); }},
      {"threshold", [] { return std::make_unique<ThresholdLayer>(1); }},
      {"multilevel 4", [] { return std::make_unique<ThresholdLayer>(4); }},
  };
  for (const auto& [name, make] : layers) {
    auto graph = one_op_graph(shape, make(), rng);
    std::uint64_t spikes = 0;  // over the input kinds: some fire, not all
    for (const InputKind kind : kInputKinds) {
      const GraphRun cpu =
          compare(name + " " + kind_name(kind), *graph, random_input(shape, kind, rng, 1.5f));
      spikes += cpu.nodes[0].spikes;
    }
    EXPECT_GT(spikes, 0u) << name;
    EXPECT_LT(spikes, 4 * kSteps * kBatch * element_count(shape)) << name;
  }
}

TEST(DeviceGraph, ElementwiseOperatorsMatchTheCpu) {
  std::mt19937 rng(5);
  const Shape shape{4, 3, 5};
  auto scale = one_op_graph(shape, std::make_unique<ChannelScale>(), rng);
  // A BatchNorm fed by the input is not folded: it runs on its own.
  auto norm = one_op_graph(shape, std::make_unique<BatchNorm>(1e-5), rng);
  {
    LayerOp& op = *norm->nodes()[1].op;
    std::uniform_real_distribution<float> positive(0.5f, 2.0f);
    std::vector<float> variance(4);
    for (float& v : variance)
      v = positive(rng);
    op.set_weight("running_var", variance);
  }
  auto flatten = one_op_graph(shape, std::make_unique<Flatten>(), rng);
  for (const InputKind kind : kInputKinds) {
    compare(std::string("scale ") + kind_name(kind), *scale, random_input(shape, kind, rng));
    const GraphRun cpu =
        compare(std::string("batchnorm ") + kind_name(kind), *norm, random_input(shape, kind, rng));
    EXPECT_EQ(cpu.nodes[0].kind, "batchnorm");
    compare(std::string("flatten ") + kind_name(kind), *flatten, random_input(shape, kind, rng));
  }
  // Add: x + threshold(scale(x)): two unit spike inputs give integer spikes, else analog.
  LayerGraph graph(shape, kSteps);
  const std::size_t s = graph.add_node("scale", std::make_unique<ChannelScale>());
  const std::size_t t = graph.add_node("spikes", std::make_unique<ThresholdLayer>(1));
  const std::size_t a = graph.add_node("sum", std::make_unique<Add>());
  graph.connect(0, s, 0);
  graph.connect(s, t, 0);
  graph.connect(0, a, 0);
  graph.connect(t, a, 1);
  graph.set_output(a);
  graph.bind();
  graph.nodes()[s].op->set_weight("scale", {2.0f, -1.0f, 0.5f, 3.0f});
  for (const InputKind kind : kInputKinds) {
    const GraphRun cpu =
        compare(std::string("add ") + kind_name(kind), graph, random_input(shape, kind, rng));
    EXPECT_EQ(cpu.output.is_spikes(), kind == InputKind::binary || kind == InputKind::integer);
  }
}

const std::string kFixtures = SNNSIM_SOURCE_DIR "/tests/fixtures/graphs/";

/// Runs the model file on its inputs (.npy, `count` samples at most) on both sides.
void compare_model(const std::string& model, const std::string& inputs, std::size_t count,
                   std::size_t spiking_nodes) {
  const LayerGraphSpec spec = load_layer_graph_file(model);
  const NpyArray input = read_npy(inputs);
  const LayerGraph& graph = *spec.graph;
  const std::size_t samples = std::min(count, input.shape[0]);
  const Value x =
      encode_input(spec.encoder, graph.input_shape(), input.values, samples, 0, graph.timesteps());
  const GraphRun cpu = compare(model, graph, x);
  std::size_t spiking = 0;
  for (const NodeReport& node : cpu.nodes) {
    if (node.spiking) {
      EXPECT_GT(node.spikes, 0u) << model << " " << node.name;
      ++spiking;
    }
  }
  EXPECT_EQ(spiking, spiking_nodes) << model;
}

TEST(DeviceGraph, GoldenFixturesMatchTheCpu) {
  // Spiking nodes: neuron layers, and max pooling and flatten of spikes.
  compare_model(kFixtures + "conv_lif.json", kFixtures + "conv_lif-input.npy", 100, 3);
  compare_model(kFixtures + "depthwise_if.json", kFixtures + "depthwise_if-input.npy", 100, 1);
  compare_model(kFixtures + "lif_variants.json", kFixtures + "lif_variants-input.npy", 100, 1);
  compare_model(kFixtures + "threshold_levels.json", kFixtures + "threshold_levels-input.npy", 100,
                1);
}

TEST(DeviceGraph, ExamplesMatchTheCpu) {
  const std::string examples = SNNSIM_SOURCE_DIR "/examples/";
  compare_model(examples + "conv-snn.json", examples + "data/conv-snn-input.npy", 64, 3);
  compare_model(examples + "linear-snn.json", examples + "data/linear-snn-input.npy", 64, 1);
}

TEST(DeviceGraph, ExampleFedBySpikesCountsAccumulates) {
  // linear-snn's first layer fed by binary spikes (a rate code): the ACs of its event path.
  const LayerGraphSpec spec = load_layer_graph_file(SNNSIM_SOURCE_DIR "/examples/linear-snn.json");
  std::mt19937 rng(6);
  Value x = random_input(spec.graph->input_shape(), InputKind::binary, rng);
  const GraphRun cpu = compare("linear-snn on spikes", *spec.graph, x);
  EXPECT_EQ(cpu.nodes[0].counts.macs, 0u);
  EXPECT_EQ(cpu.nodes[0].counts.acs, x.spikes->events() * element_count(cpu.nodes[0].shape));
}

TEST(DeviceGraph, KeepsNoSpikesUnlessAsked) {
  const LayerGraphSpec spec = load_layer_graph_file(kFixtures + "conv_lif.json");
  std::mt19937 rng(7);
  const Value x = random_input(spec.graph->input_shape(), InputKind::analog, rng);
  const GraphRun run = run_emulated(*spec.graph, x, false);
  ASSERT_EQ(run.spike_values.size(), run.nodes.size());
  std::uint64_t spikes = 0;
  for (std::size_t n = 0; n < run.nodes.size(); ++n) {
    EXPECT_FALSE(run.spike_values[n].is_spikes());
    spikes += run.nodes[n].spikes;
  }
  EXPECT_GT(spikes, 0u);  // counted all the same
}

/// The message of the runtime_error `f` throws, or "" if it throws none.
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const std::runtime_error& error) {
    return error.what();
  }
  return "";
}

TEST(DeviceGraph, RefusesUnsupportedNodesNamingThemAll) {
  const LayerGraphSpec spikformer = load_layer_graph_file(kFixtures + "spikformer_block.json");
  EXPECT_EQ(
      error_of([&] { DeviceGraphRunner<EmulatedDevice> runner(*spikformer.graph); }),
      "--backend cuda does not run these nodes yet: attn (spike_attention); use --backend cpu");
  const LayerGraphSpec transformer = load_layer_graph_file(kFixtures + "transformer_float.json");
  EXPECT_EQ(error_of([&] { DeviceGraphRunner<EmulatedDevice> runner(*transformer.graph); }),
            "--backend cuda does not run these nodes yet: ln (layernorm), gelu (gelu), attn "
            "(attention); use --backend cpu");
  const LayerGraphSpec ternary = load_layer_graph_file(kFixtures + "ternary_spikelm.json");
  EXPECT_EQ(nodes_without_device_support(*ternary.graph),
            std::vector<std::string>{"bispike (elastic_bispike)"});
  // The executor refuses the same way, whatever the machine (before looking for a device).
  EXPECT_EQ(
      error_of([&] { make_graph_executor(BackendKind::cuda, *spikformer.graph, false); }),
      "--backend cuda does not run these nodes yet: attn (spike_attention); use --backend cpu");
  // auto falls back to the CPU, saying why when a device is present.
  const auto automatic = make_graph_executor(BackendKind::automatic, *spikformer.graph, false);
  EXPECT_EQ(automatic->name(), "cpu");
}

TEST(DeviceGraph, RefusesABatchThatDoesNotFitInOneLine) {
  const LayerGraphSpec spec = load_layer_graph_file(SNNSIM_SOURCE_DIR "/examples/conv-snn.json");
  const LayerGraph& graph = *spec.graph;
  std::mt19937 rng(8);
  const Value x = random_input(graph.input_shape(), InputKind::analog, rng);
  const std::uint64_t peak = plan_device_graph_memory(graph, x.frames()).peak_bytes;
  // conv1 [8, 8, 8] and conv2 [16, 8, 8] live together, with conv2's im2col columns (72 rows).
  const std::uint64_t frames = x.frames();
  EXPECT_GE(peak, frames * (512 + 1024 + 72 * 64) * sizeof(float));
  DeviceGraphRunner<EmulatedDevice> fits(graph, EmulatedDevice(peak));
  EXPECT_NO_THROW(fits.run(x, false));
  DeviceGraphRunner<EmulatedDevice> short_by_one(graph, EmulatedDevice(peak - 1));
  const std::string message = error_of([&] { short_by_one.run(x, false); });
  EXPECT_NE(message.find("a batch of 3 needs"), std::string::npos) << message;
  EXPECT_NE(message.find("free; use a smaller --batch or --backend cpu"), std::string::npos)
      << message;
  EXPECT_EQ(message.find('\n'), std::string::npos);
  // Weights that do not fit are refused when the runner is made.
  EXPECT_NE(error_of([&] {
              DeviceGraphRunner<EmulatedDevice> tiny(graph, EmulatedDevice(100));
            }).find("the layer graph's weights need"),
            std::string::npos);
}

TEST(DeviceGraph, MemoryPlanFreesBuffersAfterTheirLastConsumer) {
  // A chain of 4 linears of 1000 features: at most two buffers live at once, however long.
  LayerGraph graph({1000}, 2);
  std::size_t previous = 0;
  for (int k = 0; k < 4; ++k) {
    const std::size_t n = graph.add_node(
        "fc" + std::to_string(k), std::make_unique<Linear>(LinearParameters{1000, 1000, true}));
    graph.connect(previous, n, 0);
    previous = n;
  }
  graph.set_output(previous);
  graph.bind();
  const std::uint64_t buffer = 2 * 5 * 1000 * sizeof(float);  // 2 steps x 5 samples
  EXPECT_EQ(plan_device_graph_memory(graph, 10).peak_bytes, 2 * buffer + 3 * sizeof(std::uint64_t));
}

using testing::run_snnsim;

TEST(DeviceGraph, InferBackendOption) {
  const std::string model = SNNSIM_SOURCE_DIR "/examples/linear-snn.json";
  const std::string input = " --input " SNNSIM_SOURCE_DIR "/examples/data/linear-snn-input.npy";
  const auto [unknown_status, unknown] = run_snnsim("infer " + model + input + " --backend tpu");
  EXPECT_EQ(unknown_status, 2) << unknown;
  EXPECT_NE(unknown.find("expected cpu, cuda or auto"), std::string::npos) << unknown;
  // Nodes the device does not run are refused in one line, on any machine.
  const auto [refused_status, refused] =
      run_snnsim("infer " + kFixtures + "transformer_float.json --input " + kFixtures +
                 "transformer_float-input.npy --backend cuda");
  EXPECT_EQ(refused_status, 1);
  EXPECT_EQ(refused,
            "snnsim infer: --backend cuda does not run these nodes yet: ln (layernorm), gelu "
            "(gelu), attn (attention); use --backend cpu\n");
  if (cuda_device_count() == 0) {
    const auto [cuda_status, cuda] = run_snnsim("infer " + model + input + " --backend cuda");
    EXPECT_EQ(cuda_status, 1) << cuda;
    EXPECT_NE(cuda.find("use --backend cpu"), std::string::npos) << cuda;
    EXPECT_EQ(std::count(cuda.begin(), cuda.end(), '\n'), 1) << cuda;
    const auto [auto_status, automatic] = run_snnsim("infer " + model + input + " --backend auto");
    EXPECT_EQ(auto_status, 0) << automatic;
    EXPECT_NE(automatic.find("backend    cpu"), std::string::npos) << automatic;
    EXPECT_NE(automatic.find("(auto: no CUDA device)"), std::string::npos) << automatic;
  }
}

}  // namespace
}  // namespace snnsim
