// `snnsim export nir` (export/nir_export.h) and the import of population graphs
// (networks/nir_import_population.cpp): the layout of exported population networks and layer
// graphs, parameters as NIR's own reader sees them, refusals and approximations, and the round
// trip export -> import -> run giving the same spikes.
#include "export/nir_export.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>

#include "networks/builder.h"
#include "networks/hdf5_dataset.h"
#include "networks/nir_import.h"
#include "nir_test_support.h"

namespace snnsim {
namespace {

/// A spike generator driving lif_psc_delta, if_psc_delta and lif_psc_exp populations through
/// constant delays, with recurrence back from the lif_psc_exp population.
constexpr const char* kPopulationNetwork = R"({
  "format": "snnsim-network", "version": 1,
  "simulation": {"dt": "0.1 ms", "duration": "100 ms"},
  "populations": [
    {"name": "G", "model": "spike_generator", "size": 5,
     "spike_times": {"unit": "ms", "values": [[1, 5, 9, 30], [2, 40, 41], [3.3, 60], [], [10, 11, 12, 13, 70]]}},
    {"name": "D", "model": "lif_psc_delta", "size": 4,
     "parameters": {"t_ref": "0 ms", "tau_m": "12 ms", "V_th": "-68 mV", "E_L": "-70 mV", "V_reset": "-71 mV"}},
    {"name": "F", "model": "if_psc_delta", "size": 3, "parameters": {"V_th": "-69 mV"}},
    {"name": "X", "model": "lif_psc_exp", "size": 3,
     "parameters": {"t_ref": "0 ms", "V_th": "-69.5 mV", "C_m": "200 pF", "tau_m": "8 ms",
                    "tau_syn_ex": "3 ms", "tau_syn_in": "3 ms"}}
  ],
  "projections": [
    {"source": "G", "target": "D", "connectivity": {"rule": "all_to_all"}, "weight": "1.5 mV", "delay": "1 ms"},
    {"source": "G", "target": "F", "connectivity": {"rule": "fixed_probability", "p": 0.6},
     "weight": {"uniform": {"low": "0.2 mV", "high": "1 mV"}}, "delay": "1 ms"},
    {"source": "D", "target": "X", "receptor": "ex", "connectivity": {"rule": "all_to_all"},
     "weight": "300 pA", "delay": "0.5 ms"},
    {"source": "F", "target": "X", "receptor": "in", "connectivity": {"rule": "one_to_one"},
     "weight": "-100 pA", "delay": "2 ms"},
    {"source": "X", "target": "D", "connectivity": {"rule": "all_to_all"}, "weight": "0.3 mV", "delay": "0.3 ms"}
  ]})";

class NirExportTest : public testing::TemporaryFolderTest {
 public:
  using TemporaryFolderTest::path;
  std::filesystem::path write(const std::string& name, const std::string& text) {
    const auto file = path(name);
    std::ofstream(file) << text;
    return file;
  }
};

const nir::Array& field(const nir::Graph& graph, const std::string& node, const std::string& name) {
  return std::get<nir::Array>(graph.nodes.at(node).fields.at(name));
}

bool has_edge(const nir::Graph& graph, const std::string& from, const std::string& to) {
  for (const auto& edge : graph.edges) {
    if (edge.first == from && edge.second == to) return true;
  }
  return false;
}

/// Every value of `array` equals `value`, and there are `size` of them.
void expect_filled(const nir::Array& array, std::size_t size, double value) {
  ASSERT_EQ(array.size(), size);
  for (double v : array.values)
    EXPECT_DOUBLE_EQ(v, value);
}

TEST_F(NirExportTest, PopulationNetworkLayoutAndParameters) {
  const auto file = write("net.json", kPopulationNetwork);
  const NirExport exported = export_nir(file, {}, {});
  const nir::Graph& g = exported.graph;
  EXPECT_TRUE(exported.approximations.empty());
  EXPECT_EQ(g.nodes.at("G").type, "Input");
  EXPECT_EQ(g.nodes.at("D").type, "LIF");
  EXPECT_EQ(g.nodes.at("F").type, "IF");
  EXPECT_EQ(g.nodes.at("X").type, "CubaLIF");
  const double dt = 0.1 * 1e-3;
  // lif_psc_delta: the Euler-equivalent tau, r = tau/dt, v_leak = E_L.
  const double tau_d = dt / -std::expm1(-0.1 / 12);
  expect_filled(field(g, "D", "tau"), 4, tau_d);
  expect_filled(field(g, "D", "r"), 4, tau_d / dt);
  expect_filled(field(g, "D", "v_leak"), 4, -70);
  expect_filled(field(g, "D", "v_threshold"), 4, -68);
  expect_filled(field(g, "D", "v_reset"), 4, -71);
  EXPECT_EQ(field(g, "D", "tau").type, nir::Array::Type::float64);
  // if_psc_delta: r = 1/dt, voltages measured from V_reset (NIR's IF starts at 0).
  expect_filled(field(g, "F", "r"), 3, 1 / dt);
  expect_filled(field(g, "F", "v_threshold"), 3, 1.0);
  expect_filled(field(g, "F", "v_reset"), 3, 0.0);
  EXPECT_EQ(std::get<nir::Array>(g.nodes.at("F").metadata.at("v_offset")).values[0], -70);
  // lif_psc_exp: w_in = tau_syn/dt (a spike of w pA adds w pA), r = tau_m / C_m.
  const double tau_syn = dt / -std::expm1(-0.1 / 3);
  expect_filled(field(g, "X", "tau_syn"), 3, tau_syn);
  expect_filled(field(g, "X", "tau_mem"), 3, dt / -std::expm1(-0.1 / 8));
  expect_filled(field(g, "X", "w_in"), 3, tau_syn / dt);
  expect_filled(field(g, "X", "r"), 3, 8.0 / 200.0);
  // One Delay per (source, delay), shared by G's two projections.
  expect_filled(field(g, "G_delay10", "delay"), 5, 10 * dt);
  expect_filled(field(g, "X_delay3", "delay"), 3, 3 * dt);
  EXPECT_TRUE(has_edge(g, "G", "G_delay10"));
  EXPECT_TRUE(has_edge(g, "G_delay10", "G-_D_v"));
  EXPECT_TRUE(has_edge(g, "G_delay10", "G-_F_v"));
  EXPECT_TRUE(has_edge(g, "G-_D_v", "D"));
  EXPECT_TRUE(has_edge(g, "X-_D_v", "D"));  // two Linear nodes into D, summed by NIR
  const nir::Array& w = field(g, "F-_X_in", "weight");
  EXPECT_EQ(w.shape, (std::vector<std::size_t>{3, 3}));
  EXPECT_EQ(w.values, (std::vector<double>{-100, 0, 0, 0, -100, 0, 0, 0, -100}));
  expect_filled(field(g, "G-_D_v", "weight"), 20, 1.5);
  EXPECT_EQ(g.nodes.at("output_D").type, "Output");
  EXPECT_TRUE(has_edge(g, "D", "output_D"));
  EXPECT_EQ(std::get<nir::Array>(g.metadata.at("dt")).values[0], 0.1 * 1e-3);
  EXPECT_EQ(std::get<std::string>(g.metadata.at("kind")), "population");
  EXPECT_EQ(std::get<std::string>(g.metadata.at("voltage_unit")), "mV");
  EXPECT_EQ(exported.notes.size(), 1u);  // G's spike times are not in NIR

  nir::write_file(g, path("net.nir"));
  const auto reference = testing::read_with_reference_nir(path("net.nir"));
  if (!reference) GTEST_SKIP() << testing::kNoReferenceNir;
  const auto& nodes = (*reference)["nodes"];
  ASSERT_EQ(nodes.size(), g.nodes.size());
  for (const auto& [name, node] : g.nodes) {
    ASSERT_EQ(nodes[name]["type"], node.type) << name;
    for (const auto& [key, value] : node.fields) {
      const auto& mine = std::get<nir::Array>(value).values;
      const std::vector<double> theirs = nodes[name]["fields"][key]["values"];
      EXPECT_EQ(theirs, mine) << name << "/" << key;
    }
  }
}

/// Exports `text`, imports it back, and runs both: the same parameters (to 1e-12) and spikes.
void expect_round_trip(NirExportTest& test, const std::string& text,
                       const NirExportOptions& options) {
  const auto file = test.write("net.json", text);
  nir::write_file(export_nir(file, {}, options).graph, test.path("net.nir"));
  const nir::Graph read = nir::read_file(test.path("net.nir"));
  ASSERT_TRUE(is_population_graph(read));
  const ImportedNetwork imported = import_nir_file(test.path("net.nir"), "back.h5", {});
  write_imported_network(imported, test.path("back.json"), "back.h5");

  NetworkSpec original = load_network_file(file);
  NetworkSpec back = load_network_file(test.path("back.json"));
  EXPECT_EQ(back.dt_ms, original.dt_ms);
  std::map<std::string, const PopulationSpec*> by_name;
  for (const PopulationSpec& p : back.populations)
    by_name[p.name] = &p;
  for (PopulationSpec& p : original.populations) {
    const PopulationSpec& q = *by_name.at(p.name);
    EXPECT_EQ(q.model, p.model) << p.name;
    EXPECT_EQ(q.size, p.size);
    for (const char* name :
         {"tau_m", "tau_syn_ex", "tau_syn_in", "E_L", "V_th", "V_reset", "C_m", "reset"}) {
      const int k = p.model->parameter_index(name);
      if (k < 0 || (std::string(name) == "C_m" && p.model->name != "lif_psc_exp")) continue;
      EXPECT_NEAR(q.parameters[k], p.parameters[k], 1e-12 * std::abs(p.parameters[k]))
          << p.name << " " << name;
    }
  }
  // The generator's spike times are not in NIR: give the imported one the original's.
  for (PopulationSpec& p : back.populations) {
    if (p.name == "G") p.data = original.populations[0].data;
  }
  EXPECT_EQ(back.projections.size(), original.projections.size());

  Network a = build_network(original), b = build_network(back);
  const Step steps = a.steps();
  const testing::Recording ra = testing::run_steps(a, steps), rb = testing::run_steps(b, steps);
  std::size_t total = 0;
  for (std::size_t i = 0; i < a.populations.size(); ++i) {
    const int j = b.population_index(a.populations[i].name);
    ASSERT_GE(j, 0);
    EXPECT_EQ(ra.spikes[i], rb.spikes[j]) << a.populations[i].name;
    total += ra.spikes[i].size();
    if (a.populations[i].name != "G") {
      EXPECT_GT(ra.spikes[i].size(), 0u) << a.populations[i].name;
    }
  }
  EXPECT_GT(total, 20u);
}

TEST_F(NirExportTest, PopulationRoundTripGivesTheSameSpikesAndParameters) {
  expect_round_trip(*this, kPopulationNetwork, {});
}

TEST_F(NirExportTest, SoftResetRoundTripsThroughTheResetMetadata) {
  std::string text = kPopulationNetwork;
  const std::string d_parameters = R"("V_reset": "-71 mV")";
  text.replace(text.find(d_parameters), d_parameters.size(), d_parameters + R"(, "reset": "soft")");
  NirExportOptions options;
  options.approximate = true;
  expect_round_trip(*this, text, options);
}

std::size_t count_containing(const std::vector<std::string>& lines, const std::string& text) {
  return std::count_if(lines.begin(), lines.end(), [&](const std::string& line) {
    return line.find(text) != std::string::npos;
  });
}

/// Per (source, target) neuron pair of `projection`, its summed weight; and the delay in steps.
std::map<std::pair<NeuronIndex, NeuronIndex>, double> weights_of(const Projection& projection,
                                                                 std::uint16_t& delay) {
  const Connectivity& c = projection.synapses;
  std::map<std::pair<NeuronIndex, NeuronIndex>, double> out;
  for (std::size_t s = 0; s + 1 < c.row_offsets.size(); ++s) {
    for (std::uint64_t k = c.row_offsets[s]; k < c.row_offsets[s + 1]; ++k) {
      out[{static_cast<NeuronIndex>(s), c.targets[k]}] +=
          c.weights.empty() ? c.weight : c.weights[k];
    }
  }
  const auto [low, high] = std::minmax_element(c.delays.begin(), c.delays.end());
  delay = c.delays.empty() ? c.delay : (*low == *high ? *low : 0);
  return out;
}

// `snnsim export nir --approximate` writes Brunel's Poisson drives as Input -> Scale -> population,
// without a Delay, the rate in the Input's metadata: the import gives back the Poisson inputs.
TEST_F(NirExportTest, ApproximatedBrunelImportsAsPopulationsWithItsWeights) {
  const std::filesystem::path file = SNNSIM_SOURCE_DIR "/examples/brunel.json";
  LoadOptions load;
  load.parameter_overrides["order"] = "20";
  NirExportOptions options;
  options.approximate = true;
  nir::write_file(export_nir(file, load, options).graph, path("b.nir"));
  ASSERT_TRUE(is_population_graph(nir::read_file(path("b.nir"))));
  const ImportedNetwork imported = import_nir_file(path("b.nir"), "b.h5", {});
  write_imported_network(imported, path("b.json"), "b.h5");
  EXPECT_EQ(count_containing(imported.notes, "a Poisson input of 20000 Hz"), 2u);

  const NetworkSpec original = load_network_file(file, load);
  const NetworkSpec back = load_network_file(path("b.json"));
  std::map<std::string, const PopulationSpec*> by_name;
  for (const PopulationSpec& p : back.populations)
    by_name[p.name] = &p;
  ASSERT_EQ(back.populations.size(), 2u);
  for (const PopulationSpec& p : original.populations) {
    const PopulationSpec& q = *by_name.at(p.name);
    EXPECT_EQ(q.model, p.model);
    EXPECT_EQ(q.size, p.size);
    for (const char* name : {"tau_m", "E_L", "V_th", "V_reset", "reset"}) {
      const int k = p.model->parameter_index(name);
      EXPECT_NEAR(q.parameters[k], p.parameters[k], 1e-12 * std::abs(p.parameters[k]))
          << p.name << " " << name;
    }
    EXPECT_EQ(q.parameters[p.model->parameter_index("t_ref")], 0);  // --approximate dropped it
  }

  // The recurrent projections: the same summed weight per pair of neurons, the same delay.
  Network a = build_network(original), b = build_network(back);
  ASSERT_EQ(b.projections.size(), a.projections.size());
  for (const Projection& pa : a.projections) {
    const std::string source = a.populations[pa.source].name,
                      target = a.populations[pa.target].name;
    const auto pb =
        std::find_if(b.projections.begin(), b.projections.end(), [&](const Projection& p) {
          return b.populations[p.source].name == source && b.populations[p.target].name == target;
        });
    ASSERT_NE(pb, b.projections.end()) << source << " -> " << target;
    std::uint16_t delay_a = 0, delay_b = 0;
    const auto wa = weights_of(pa, delay_a), wb = weights_of(*pb, delay_b);
    ASSERT_EQ(wb.size(), wa.size()) << source << " -> " << target;
    for (const auto& [pair, w] : wa) {
      // NIR's Linear holds float32: summed multapses round once more than snnsim's sums.
      EXPECT_NEAR(wb.count(pair) ? wb.at(pair) : 0.0, w, 1e-6 * std::abs(w))
          << source << " -> " << target << " " << pair.first << " -> " << pair.second;
    }
    EXPECT_EQ(delay_b, delay_a) << source << " -> " << target;
  }
  // Each Poisson drive comes back under its name (which keys its random stream), with its
  // target, rate and weight.
  ASSERT_EQ(back.drives.size(), original.drives.size());
  for (const DriveSpec& drive : original.drives) {
    const auto d = std::find_if(back.drives.begin(), back.drives.end(),
                                [&](const DriveSpec& d) { return d.name == drive.name; });
    ASSERT_NE(d, back.drives.end()) << drive.name;
    EXPECT_EQ(d->kind, DriveSpec::Kind::poisson);
    EXPECT_EQ(back.populations[d->population].name, original.populations[drive.population].name);
    EXPECT_DOUBLE_EQ(d->rate_hz, drive.rate_hz);
    EXPECT_FLOAT_EQ(d->weight, drive.weight);  // Scale holds float32
  }

  const auto run =
      testing::run_snnsim("run " + path("b.nir").string() + " -t 1 --duration '20 ms'");
  EXPECT_EQ(run.status, 0) << run.output;
}

// A spike_times input is an Input of one element and a Linear, without a Delay: imported with a
// delay of one step, its generator fed the times one step earlier gives the original's spikes.
TEST_F(NirExportTest, SpikeTimeInputsImportOneStepLater) {
  const auto file = write("net.json", R"({
    "format": "snnsim-network", "version": 1,
    "simulation": {"dt": "0.1 ms", "duration": "40 ms"},
    "populations": [
      {"name": "D", "model": "lif_psc_delta", "size": 3,
       "parameters": {"t_ref": "0 ms", "tau_m": "10 ms", "V_th": "-69 mV", "E_L": "-70 mV", "V_reset": "-70.5 mV"}},
      {"name": "X", "model": "lif_psc_exp", "size": 2,
       "parameters": {"t_ref": "0 ms", "V_th": "-69.8 mV", "tau_syn_ex": "2 ms", "tau_syn_in": "2 ms"}}
    ],
    "projections": [
      {"source": "D", "target": "X", "receptor": "ex", "connectivity": {"rule": "all_to_all"}, "weight": "300 pA", "delay": "1 ms"}
    ],
    "inputs": [
      {"type": "spike_times", "name": "kick", "target": "D", "times": {"unit": "ms", "values": [1, 1.1, 5, 5.2, 20, 20.3]}, "weight": "0.6 mV"},
      {"type": "spike_times", "name": "hush", "target": "X", "receptor": "in", "times": {"unit": "ms", "values": [5.5, 6]}, "weight": "-400 pA"}
    ]})");
  nir::write_file(export_nir(file, {}, {}).graph, path("net.nir"));
  ImportedNetwork imported = import_nir_file(path("net.nir"), "back.h5", {});
  EXPECT_EQ(count_containing(imported.notes, "imported with a delay of one step"), 2u);
  const std::map<std::string, std::vector<double>> earlier = {
      {"kick", {0.9, 1, 4.9, 5.1, 19.9, 20.2}}, {"hush", {5.4, 5.9}}};
  for (auto& population : imported.document["populations"]) {
    const auto times = earlier.find(population["name"]);
    if (times != earlier.end()) population["spike_times"]["values"] = {times->second};
  }
  write_imported_network(imported, path("back.json"), "back.h5");

  Network a = build_network(load_network_file(file)),
          b = build_network(load_network_file(path("back.json")));
  const testing::Recording ra = testing::run_steps(a, a.steps()),
                           rb = testing::run_steps(b, a.steps());
  for (const char* name : {"D", "X"}) {
    const auto i = static_cast<std::size_t>(a.population_index(name)),
               j = static_cast<std::size_t>(b.population_index(name));
    EXPECT_FALSE(ra.spikes[i].empty()) << name;
    EXPECT_EQ(rb.spikes[j], ra.spikes[i]) << name;
  }
}

// Only Inputs may feed a projection without a Delay: neurons joined without one (NIR crosses the
// path in the same step) are no population projection, and the graph stays a layer graph.
TEST_F(NirExportTest, NeuronsJoinedWithoutADelayStayALayerGraph) {
  const nir::Graph exported = export_nir(write("net.json", kPopulationNetwork), {}, {}).graph;
  ASSERT_TRUE(is_population_graph(exported));
  nir::Graph through_linear = exported;
  through_linear.nodes["direct"] = nir::Node{
      "Linear", {{"weight", nir::Array::floats(std::vector<double>(12, 1.0), {3, 4})}}, {}, {}};
  through_linear.edges.emplace_back("D", "direct");
  through_linear.edges.emplace_back("direct", "X");
  EXPECT_FALSE(is_population_graph(through_linear));
  nir::Graph neuron_to_neuron = exported;
  neuron_to_neuron.edges.emplace_back("D", "F");
  EXPECT_FALSE(is_population_graph(neuron_to_neuron));
}

/// Three offences: a refractory period, a Poisson input, conductance-based synapses.
constexpr const char* kThreeOffences = R"({
  "format": "snnsim-network", "version": 1,
  "populations": [
    {"name": "A", "model": "lif_psc_delta", "size": 2, "parameters": {"t_ref": "2 ms"}},
    {"name": "B", "model": "lif_cond_exp", "size": 2, "parameters": {"t_ref": "0 ms"}}
  ],
  "projections": [{"source": "A", "target": "B", "receptor": "ex", "connectivity": {"rule": "all_to_all"}, "weight": "1 nS"}],
  "inputs": [{"type": "poisson", "target": "A", "rate": "100 Hz", "weight": "1 mV"}]
})";

TEST_F(NirExportTest, RefusalListsEveryOffenceAndWritesNothing) {
  const auto file = write("net.json", kThreeOffences);
  const auto problems = nir_export_problems(file, {}, {});
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_NE(problems[0].find("populations/0 'A' (lif_psc_delta): refractory period"),
            std::string::npos);
  EXPECT_NE(problems[1].find("populations/1 'B' (lif_cond_exp): conductance-based"),
            std::string::npos);
  EXPECT_NE(problems[2].find("inputs/0"), std::string::npos);
  try {
    export_nir(file, {}, {});
    FAIL() << "expected a refusal";
  } catch (const NirExportError& error) {
    const std::string message = error.what();
    EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 3) << message;
    EXPECT_NE(message.find("NIR cannot express 3 elements"), std::string::npos) << message;
  }
  const auto result =
      testing::run_snnsim("export nir " + file.string() + " -o " + path("net.nir").string());
  EXPECT_EQ(result.status, 1) << result.output;
  EXPECT_NE(result.output.find("refractory period"), std::string::npos) << result.output;
  EXPECT_FALSE(std::filesystem::exists(path("net.nir")));
}

TEST_F(NirExportTest, ApproximateWarnsOncePerApproximation) {
  const auto file = write("net.json", kThreeOffences);
  NirExportOptions options;
  options.approximate = true;
  const NirExport exported = export_nir(file, {}, options);
  EXPECT_EQ(exported.approximations.size(), 3u);
  EXPECT_EQ(exported.graph.nodes.at("B").type, "CubaLIF");
  // 1 nS at E_ex - (V_th + V_reset)/2 = 0 - (-55) mV: 55 pA.
  expect_filled(field(exported.graph, "A-_B_ex", "weight"), 4, 55.0);
  const auto result = testing::run_snnsim("export nir " + file.string() + " -o " +
                                          path("net.nir").string() + " --approximate");
  EXPECT_EQ(result.status, 0) << result.output;
  std::size_t warnings = 0;
  for (std::size_t at = 0; (at = result.output.find("approximated: ", at)) != std::string::npos;
       ++at)
    ++warnings;
  EXPECT_EQ(warnings, 3u) << result.output;
  const auto reference = testing::read_with_reference_nir(path("net.nir"));
  if (!reference) GTEST_SKIP() << testing::kNoReferenceNir;
  EXPECT_EQ((*reference)["nodes"]["input_0_A_weight"]["type"], "Scale");
}

TEST_F(NirExportTest, DenseLimitNamesTheLargestProjection) {
  const auto file = write("net.json", kPopulationNetwork);
  NirExportOptions options;
  options.dense_limit = 40;
  options.approximate = true;
  const auto problems = nir_export_problems(file, {}, options);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("68 elements"), std::string::npos) << problems[0];
  EXPECT_NE(problems[0].find("projections/0 'G->D:v', 4 x 5"), std::string::npos) << problems[0];
  EXPECT_THROW(export_nir(file, {}, options), NirExportError);
}

// A network whose only dense weights are those of spike_times inputs has no projection to name.
TEST_F(NirExportTest, DenseLimitWithoutProjectionsCountsTheInputs) {
  const auto file = write("net.json", R"({
    "format": "snnsim-network", "version": 1,
    "populations": [{"name": "D", "model": "lif_psc_delta", "size": 10, "parameters": {"t_ref": "0 ms"}}],
    "inputs": [{"type": "spike_times", "name": "kick", "target": "D",
                "times": {"unit": "ms", "values": [1]}, "weight": "1 mV"}]})");
  NirExportOptions options;
  options.dense_limit = 5;
  const auto problems = nir_export_problems(file, {}, options);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0],
            "projections: dense weight matrices of 10 elements in all, above the limit of 5 "
            "(NIR's Linear is dense); --approximate cannot help");
}

/// The one line importing `graph` as a population network fails with; "no error" when it imports.
/// Any other exception fails the test.
std::string population_import_error(const nir::Graph& graph, const NirImportOptions& options = {}) {
  try {
    import_population_graph(graph, "net.nir", "net.h5", options);
  } catch (const nir::NirError& error) {
    return error.what();
  }
  return "no error";
}

// A graph of the population shape with damaged values, or forced with --kind population: one line
// naming the file and the place, never a crash or an unrelated exception.
TEST_F(NirExportTest, DamagedPopulationGraphsGiveOneLineNamingThePlace) {
  const nir::Graph exported = export_nir(write("net.json", kPopulationNetwork), {}, {}).graph;
  ASSERT_EQ(population_import_error(exported), "no error");

  for (double bad : {-3.0, 0.0, 2.5, std::nan(""), 1e30}) {
    nir::Graph g = exported;
    g.nodes.at("G").fields["shape"] = nir::Array::floats({bad});
    EXPECT_EQ(population_import_error(g),
              "net.nir: /node/nodes/G/shape: expected positive integers whose product is at "
              "most 4294967295")
        << bad;
  }
  for (double bad : {std::nan(""), -1e-3, 1e3}) {
    nir::Graph g = exported;
    g.nodes.at("G_delay10").fields["delay"] = nir::Array::filled(5, bad);
    EXPECT_EQ(population_import_error(g).rfind("net.nir: /node/nodes/G_delay10/delay: ", 0), 0u)
        << bad;
  }
  nir::Graph no_delays = exported;
  no_delays.nodes.at("G_delay10").fields["delay"] = nir::Array::floats({});
  EXPECT_EQ(population_import_error(no_delays), "net.nir: /node/nodes/G_delay10/delay: empty");

  NirImportOptions negative_dt;
  negative_dt.dt_s = -1e-4;
  EXPECT_EQ(population_import_error(exported, negative_dt),
            "net.nir: --dt: -0.0001 s is no time step");
  nir::Graph no_dt = exported;
  no_dt.metadata.erase("dt");
  EXPECT_EQ(population_import_error(no_dt),
            "net.nir: /node/metadata/dt: the graph gives no time step; pass --dt, the writer's "
            "own (" +
                nir_writer_time_steps() + ")");
  nir::Graph zero_dt = exported;
  zero_dt.metadata["dt"] = nir_export_detail::scalar64(0.0);
  EXPECT_EQ(population_import_error(zero_dt), "net.nir: /node/metadata/dt: 0 s is no time step");

  // An entry-point-only Input is no population: a Delay from it makes a layer graph, and forced
  // into a population network it is named.
  nir::Graph from_entry_point = exported;
  from_entry_point.nodes["entry"] = nir::Node{"Input",
                                              {{"shape", nir::Array::integers({1})}},
                                              {{kEntryPointOnly, nir::Array::scalar(1)}},
                                              {}};
  from_entry_point.nodes["entry_delay"] =
      nir::Node{"Delay", {{"delay", nir::Array::filled(1, 1e-4)}}, {}, {}};
  from_entry_point.nodes["entry_w"] =
      nir::Node{"Linear", {{"weight", nir::Array::filled(4, 1.0)}}, {}, {}};
  std::get<nir::Array>(from_entry_point.nodes["entry_w"].fields["weight"]).shape = {4, 1};
  from_entry_point.edges.insert(
      from_entry_point.edges.end(),
      {{"entry", "entry_delay"}, {"entry_delay", "entry_w"}, {"entry_w", "D"}});
  EXPECT_FALSE(is_population_graph(from_entry_point));
  EXPECT_EQ(population_import_error(from_entry_point)
                .rfind("net.nir: /node/nodes/entry_w: fed by entry, ", 0),
            0u)
      << population_import_error(from_entry_point);

  // A Poisson Input through an empty Scale is no Poisson drive: the Scale is named.
  nir::Graph empty_scale = exported;
  empty_scale.nodes["drive"] = nir::Node{"Input",
                                         {{"shape", nir::Array::integers({4})}},
                                         {{"poisson_rate_hz", nir_export_detail::scalar64(100.0)}},
                                         {}};
  empty_scale.nodes["drive_w"] = nir::Node{"Scale", {{"scale", nir::Array::floats({})}}, {}, {}};
  empty_scale.edges.insert(empty_scale.edges.end(), {{"drive", "drive_w"}, {"drive_w", "D"}});
  EXPECT_EQ(population_import_error(empty_scale).rfind("net.nir: /node/nodes/drive_w/scale: ", 0),
            0u)
      << population_import_error(empty_scale);
}

/// conv -> lif -> sumpool -> flatten -> linear (+bias) -> if, and a residual add of two linear
/// layers, a global average pool on the way.
constexpr const char* kLayerGraph = R"({
  "format": "snnsim-network", "version": 1, "kind": "layer_graph", "timesteps": 4,
  "input": {"shape": [2, 4, 4]},
  "weights": "w.h5",
  "nodes": [
    {"name": "conv", "op": "conv2d", "in_channels": 2, "out_channels": 3, "kernel": 3, "padding": 1, "bias": false},
    {"name": "lif", "op": "lif", "tau": 2.0, "v_threshold": 1.0, "v_reset": 0.0, "decay_input": false},
    {"name": "pool", "op": "sumpool2d", "kernel": 2},
    {"name": "gap", "op": "global_avgpool", "inputs": ["lif"]},
    {"name": "flat", "op": "flatten", "inputs": ["pool"]},
    {"name": "fc", "op": "linear", "in_features": 12, "out_features": 3},
    {"name": "sum", "op": "add", "inputs": ["fc", "gap"]},
    {"name": "if", "op": "if", "v_threshold": 0.5, "v_reset": 0.0},
    {"name": "th", "op": "threshold", "inputs": ["sum"]}
  ],
  "output": "if"
})";

TEST_F(NirExportTest, LayerGraphLayoutAndParameters) {
  std::vector<double> conv(3 * 2 * 3 * 3), fc(3 * 12);
  for (std::size_t k = 0; k < conv.size(); ++k)
    conv[k] = 0.1 * (k % 5) - 0.2;
  for (std::size_t k = 0; k < fc.size(); ++k)
    fc[k] = 0.05 * (k % 7);
  write_hdf5_arrays(path("w.h5"), {{"conv.weight", {{3, 2, 3, 3}, conv, false}},
                                   {"fc.weight", {{3, 12}, fc, false}},
                                   {"fc.bias", {{3}, {0.1, 0.2, 0.3}, false}}});
  const auto file = write("graph.json", kLayerGraph);
  NirExportOptions options;
  options.dt_s = 1e-3;
  const NirExport exported = export_nir(file, {}, options);
  const nir::Graph& g = exported.graph;
  EXPECT_EQ(g.nodes.at("conv").type, "Conv2d");
  EXPECT_EQ(field(g, "conv", "input_shape").values, (std::vector<double>{4, 4}));
  EXPECT_EQ(field(g, "conv", "padding").values, (std::vector<double>{1, 1}));
  EXPECT_EQ(field(g, "conv", "weight").shape, (std::vector<std::size_t>{3, 2, 3, 3}));
  expect_filled(field(g, "conv", "bias"), 3, 0.0);
  EXPECT_EQ(g.nodes.at("lif").type, "LIF");
  expect_filled(field(g, "lif", "tau"), 48, 2e-3);  // tau steps x dt
  expect_filled(field(g, "lif", "r"), 48, 2.0);     // decay_input false: r = tau
  EXPECT_EQ(field(g, "lif", "tau").shape, (std::vector<std::size_t>{3, 4, 4}));
  EXPECT_EQ(g.nodes.at("pool").type, "SumPool2d");
  EXPECT_EQ(g.nodes.at("gap_pool").type, "AvgPool2d");
  EXPECT_EQ(field(g, "gap_pool", "kernel_size").values, (std::vector<double>{4, 4}));
  EXPECT_EQ(g.nodes.at("gap").type, "Flatten");
  EXPECT_EQ(g.nodes.at("fc").type, "Affine");
  EXPECT_EQ(g.nodes.count("sum"), 0u);  // an add is NIR's sum of edges
  EXPECT_TRUE(has_edge(g, "fc", "if"));
  EXPECT_TRUE(has_edge(g, "gap", "if"));
  EXPECT_TRUE(has_edge(g, "fc", "th"));
  expect_filled(field(g, "if", "r"), 3, 1e3);
  expect_filled(field(g, "th", "threshold"), 3, 0.5);
  EXPECT_TRUE(has_edge(g, "input", "conv"));
  EXPECT_TRUE(has_edge(g, "if", "output"));
  EXPECT_EQ(std::get<nir::Array>(g.metadata.at("timesteps")).values[0], 4);
  EXPECT_EQ(std::get<std::string>(g.metadata.at("kind")), "layer_graph");
  EXPECT_FALSE(is_population_graph(g));  // imports as a layer graph

  nir::write_file(g, path("graph.nir"));
  const auto reference = testing::read_with_reference_nir(path("graph.nir"));
  if (!reference) GTEST_SKIP() << testing::kNoReferenceNir;
  const auto& nodes = (*reference)["nodes"];
  EXPECT_EQ(nodes["output"]["fields"]["shape"]["values"], nlohmann::json::array({3.0}));
  const std::vector<double> bias = nodes["fc"]["fields"]["bias"]["values"];
  EXPECT_EQ(bias, field(g, "fc", "bias").values);
}

TEST_F(NirExportTest, LayerGraphRefusesWhatNirLacks) {
  const auto file = write("graph.json", R"({
    "format": "snnsim-network", "version": 1, "kind": "layer_graph", "timesteps": 2,
    "input": {"shape": [1, 4, 4], "encoder": "rate"},
    "nodes": [
      {"name": "pool", "op": "maxpool2d", "kernel": 2},
      {"name": "if", "op": "if", "v_threshold": 1.0, "v_reset": null},
      {"name": "twice", "op": "add", "inputs": ["if", "if"]}
    ]})");
  const auto problems = nir_export_problems(file, {}, {});
  ASSERT_EQ(problems.size(), 4u);
  EXPECT_NE(problems[0].find("rate encoder"), std::string::npos);
  EXPECT_NE(problems[1].find("nodes/0 'pool' (maxpool2d)"), std::string::npos);
  EXPECT_NE(problems[1].find("--approximate cannot help"), std::string::npos);
  EXPECT_NE(problems[2].find("soft reset"), std::string::npos);
  EXPECT_NE(problems[3].find("nodes/2 'twice' (add): adds the output of if to itself"),
            std::string::npos)
      << problems[3];
  NirExportOptions options;
  options.approximate = true;
  EXPECT_THROW(export_nir(file, {}, options), NirExportError);  // maxpool cannot be approximated
}

}  // namespace
}  // namespace snnsim
