// Network-file validation: every error path names the file, the JSON pointer and what was
// expected; valid files resolve parameters, units and overrides.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "networks/builder.h"
#include "networks/hdf5_dataset.h"
#include "networks/json_node.h"
#include "networks/network_file.h"
#include "test_support.h"

namespace snnsim {
namespace {

using nlohmann::json;

json valid_network() {
  return json::parse(R"({
    "format": "snnsim-network", "version": 1,
    "parameters": {"N": 100, "NE": "0.8 * N"},
    "simulation": {"dt": "0.1 ms", "duration": "50 ms", "seed": 3},
    "populations": [
      {"name": "E", "model": "lif_psc_exp", "size": "NE", "parameters": {"tau_m": "20 ms", "reset": "soft"},
       "initial": {"v": {"uniform": {"low": "-70 mV", "high": "-60 mV"}}}},
      {"name": "I", "model": "lif_psc_exp", "size": "N - NE"},
      {"name": "S", "model": "spike_generator", "size": 2, "spike_times": {"unit": "ms", "values": [[1, 2], []]}}
    ],
    "projections": [
      {"source": "E", "target": "I", "receptor": "ex", "connectivity": {"rule": "fixed_probability", "p": 0.1}, "weight": "10 pA", "delay": "1.5 ms"},
      {"source": "S", "target": "E", "receptor": "ex", "connectivity": {"rule": "all_to_all"}, "weight": "5 pA"}
    ],
    "inputs": [
      {"type": "poisson", "target": "E", "receptor": "ex", "rate": "1 kHz", "weight": "1 pA"},
      {"type": "current", "target": "I", "times": ["0 ms", "10 ms"], "amplitudes": ["100 pA", "0 pA"]}
    ],
    "recording": {"spikes": ["E"], "state": [{"population": "I", "variables": ["v", "i_ex"], "neurons": [0, 3], "interval": "1 ms"}]}
  })");
}

NetworkSpec parse(const json& j, const LoadOptions& options = {}) {
  return parse_network(j.dump(), "net.json", options);
}

std::string error_of(const json& j, const LoadOptions& options = {}) {
  try {
    parse(j, options);
  } catch (const NetworkFileError& error) {
    const std::string message = error.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << "errors are one line: " << message;
    return message;
  }
  ADD_FAILURE() << "expected an error for " << j.dump();
  return "";
}

TEST(NetworkFile, ValidFileResolvesExpressionsUnitsAndNames) {
  const NetworkSpec spec = parse(valid_network());
  ASSERT_EQ(spec.populations.size(), 3u);
  EXPECT_EQ(spec.populations[0].size, 80u);
  EXPECT_EQ(spec.populations[1].size, 20u);
  EXPECT_EQ(spec.populations[0].parameters[spec.populations[0].model->parameter_index("tau_m")],
            20.0);
  EXPECT_EQ(spec.populations[0].parameters[spec.populations[0].model->parameter_index("reset")],
            1.0);
  EXPECT_EQ(spec.populations[2].data.spike_steps, (std::vector<std::vector<Step>>{{10, 20}, {}}));
  EXPECT_EQ(spec.projections[0].name, "E->I:ex");
  EXPECT_EQ(spec.projections[0].delay.value, 1.5);
  EXPECT_EQ(spec.projections[1].delay.value, 0.1);  // default: one step
  EXPECT_EQ(spec.record_spikes, (std::vector<bool>{true, false, false}));
  ASSERT_EQ(spec.probes.size(), 2u);
  EXPECT_EQ(spec.probes[1].variable, 1);
  EXPECT_EQ(spec.probes[0].interval_steps, 10u);
  EXPECT_EQ(spec.drives[1].amplitudes_pa, (std::vector<double>{100, 0}));
}

TEST(NetworkFile, CommandLineOverridesWin) {
  LoadOptions options;
  options.parameter_overrides["N"] = "1000";
  options.duration_ms = 2000;
  options.seed = 99;
  const NetworkSpec spec = parse(valid_network(), options);
  EXPECT_EQ(spec.populations[0].size, 800u);
  EXPECT_EQ(spec.duration_ms, 2000);
  EXPECT_EQ(spec.seed, 99u);
}

struct BadCase {
  const char* name;
  std::function<void(json&)> damage;
  const char* expected;  ///< a substring of the error
};

void PrintTo(const BadCase& bad, std::ostream* out) {
  *out << bad.name;
}

class NetworkFileErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(NetworkFileErrors, NameTheFileThePlaceAndWhatWasExpected) {
  json j = valid_network();
  GetParam().damage(j);
  const std::string message = error_of(j);
  EXPECT_THAT(message, ::testing::StartsWith("net.json"));
  EXPECT_THAT(message, ::testing::HasSubstr(GetParam().expected));
}

const BadCase kBadCases[] = {
    {"wrong_format", [](json& j) { j["format"] = "nest"; }, "/format: expected \"snnsim-network\""},
    {"wrong_version", [](json& j) { j["version"] = 2; }, "/version: expected 1"},
    {"unknown_top_key", [](json& j) { j["populatons"] = json::array(); },
     "/populatons: unknown key 'populatons'"},
    {"missing_populations", [](json& j) { j.erase("populations"); },
     "missing required key 'populations'"},
    {"unknown_model", [](json& j) { j["populations"][0]["model"] = "hh"; },
     "/populations/0/model: unknown neuron model 'hh'"},
    {"unknown_parameter", [](json& j) { j["populations"][0]["parameters"]["tau"] = "1 ms"; },
     "/populations/0/parameters/tau: unknown parameter 'tau' of model lif_psc_exp"},
    {"bare_number_for_time", [](json& j) { j["populations"][0]["parameters"]["tau_m"] = 20; },
     "/populations/0/parameters/tau_m: expected a time"},
    {"wrong_unit", [](json& j) { j["populations"][0]["parameters"]["tau_m"] = "20 mV"; },
     "/populations/0/parameters/tau_m:"},
    {"bad_choice", [](json& j) { j["populations"][0]["parameters"]["reset"] = "medium"; },
     "/populations/0/parameters/reset: expected one of: hard, soft"},
    {"invalid_parameter_value",
     [](json& j) {
       j["populations"][1]["parameters"] = {{"C_m", "-5 pF"}};
     },
     "C_m must be positive"},
    {"fractional_size", [](json& j) { j["populations"][0]["size"] = 2.5; },
     "/populations/0/size: expected a population size"},
    {"zero_size", [](json& j) { j["populations"][0]["size"] = 0; }, "/populations/0/size"},
    {"duplicate_population", [](json& j) { j["populations"][1]["name"] = "E"; },
     "duplicate population name 'E'"},
    {"bad_name", [](json& j) { j["populations"][1]["name"] = "a/b"; },
     "/populations/1/name: expected a name"},
    {"unknown_state_variable", [](json& j) { j["populations"][0]["initial"]["u"] = "1 mV"; },
     "/populations/0/initial/u: unknown state variable"},
    {"unknown_source", [](json& j) { j["projections"][0]["source"] = "X"; },
     "/projections/0/source: unknown population 'X'"},
    {"missing_receptor", [](json& j) { j["projections"][0].erase("receptor"); },
     "/projections/0: missing required key 'receptor'"},
    {"bad_receptor", [](json& j) { j["projections"][0]["receptor"] = "gaba"; },
     "/projections/0/receptor: expected one of: ex, in"},
    {"weight_unit", [](json& j) { j["projections"][0]["weight"] = "10 nS"; },
     "/projections/0/weight:"},
    {"delay_too_short", [](json& j) { j["projections"][0]["delay"] = "0.01 ms"; },
     "/projections/0/delay: a delay of 0.01 ms is shorter than one time step"},
    {"delay_bare", [](json& j) { j["projections"][0]["delay"] = 2; },
     "/projections/0/delay: expected a time"},
    {"unknown_rule", [](json& j) { j["projections"][0]["connectivity"]["rule"] = "random"; },
     "/projections/0/connectivity/rule: expected one of"},
    {"probability_out_of_range", [](json& j) { j["projections"][0]["connectivity"]["p"] = 1.5; },
     "/projections/0/connectivity/p: expected a probability"},
    {"rule_key_mismatch", [](json& j) { j["projections"][0]["connectivity"]["indegree"] = 3; },
     "/projections/0/connectivity/indegree: unknown key"},
    {"list_weights_for_random_rule",
     [](json& j) {
       j["projections"][0]["weight"] = {{"values", {1, 2}}, {"unit", "pA"}};
     },
     "/projections/0/weight: a list or file of values needs one value per element"},
    {"distribution_typo",
     [](json& j) {
       j["projections"][0]["weight"] = {{"gauss", {{"mean", "1 pA"}}}};
     },
     "found keys gauss"},
    {"negative_std",
     [](json& j) {
       j["projections"][0]["weight"] = {{"normal", {{"mean", "1 pA"}, {"std", "-1 pA"}}}};
     },
     "/projections/0/weight/normal/std"},
    {"explicit_index_out_of_range",
     [](json& j) {
       j["projections"][0]["connectivity"] = {
           {"rule", "explicit"}, {"sources", {0, 100}}, {"targets", {0, 1}}};
     },
     "/projections/0/connectivity/sources/1: expected a neuron index"},
    {"one_to_one_sizes",
     [](json& j) {
       j["projections"][0]["connectivity"] = {{"rule", "one_to_one"}};
     },
     "one_to_one needs populations of equal size"},
    {"unknown_input_type", [](json& j) { j["inputs"][0]["type"] = "noise"; },
     "/inputs/0/type: expected one of: poisson, spike_times, current"},
    {"input_rate_unit", [](json& j) { j["inputs"][0]["rate"] = "1 kHz mV"; }, "/inputs/0/rate"},
    {"current_lengths", [](json& j) { j["inputs"][1]["amplitudes"] = {"1 pA"}; },
     "/inputs/1/amplitudes: expected one amplitude per time"},
    {"generator_takes_no_input", [](json& j) { j["inputs"][0]["target"] = "S"; }, "takes no input"},
    {"spike_times_count", [](json& j) { j["populations"][2]["spike_times"]["values"] = {{1}}; },
     "/populations/2/spike_times/values: expected one list of times per neuron"},
    {"record_unknown_variable", [](json& j) { j["recording"]["state"][0]["variables"] = {"w"}; },
     "/recording/state/0/variables/0: expected one of: v, i_ex, i_in, refractory"},
    {"record_neuron_out_of_range", [](json& j) { j["recording"]["state"][0]["neurons"] = {25}; },
     "/recording/state/0/neurons/0"},
    {"unknown_parameter_name_in_expression",
     [](json& j) { j["populations"][0]["size"] = "0.5 * M"; }, "/populations/0/size:"},
    {"parameter_cycle", [](json& j) { j["parameters"]["N"] = "NE * 2"; }, "/parameters"},
    {"dt_zero", [](json& j) { j["simulation"]["dt"] = "0 ms"; },
     "/simulation/dt: expected a time step > 0"},
    {"seed_negative", [](json& j) { j["simulation"]["seed"] = -1; }, "/simulation/seed"},
    // A dt below the smallest, or more steps than the limit, is refused before anything runs
    // (a dt of 1e-30 ms passed and never finished).
    {"dt_below_the_smallest", [](json& j) { j["simulation"]["dt"] = "1e-30 ms"; },
     "/simulation/dt: a time step of 1e-30 ms is below the smallest, 0.0001 ms"},
    {"too_many_steps", [](json& j) { j["simulation"]["duration"] = "1e6 s"; },
     "/simulation/duration: a duration of 1e+09 ms at dt = 0.1 ms is 1e+10 steps, more than the "
     "limit of 2^32 (4294967296)"},
    {"too_many_neurons", [](json& j) { j["populations"][1]["size"] = 4294967295.0; },
     "/populations/1/size: the populations so far have 4294967375 neurons, more than the limit "
     "of 4294967295"},
    {"not_an_object", [](json& j) { j = json::array(); }, "expected an object"},
};

INSTANTIATE_TEST_SUITE_P(EveryErrorPath, NetworkFileErrors, ::testing::ValuesIn(kBadCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(NetworkFile, MalformedJsonNamesLineAndColumn) {
  try {
    parse_network("{\n  \"format\": \"snnsim-network\",\n  \"version\": 1,,\n}", "broken.json");
    FAIL();
  } catch (const NetworkFileError& error) {
    EXPECT_THAT(error.what(), ::testing::StartsWith("broken.json:3:"));
    EXPECT_THAT(error.what(), ::testing::HasSubstr("not valid JSON"));
  }
}

TEST(NetworkFile, CommandLineTimeStepsAreBoundedToo) {
  LoadOptions options;
  options.dt_ms = 1e-30;
  EXPECT_THAT(
      error_of(valid_network(), options),
      ::testing::StartsWith("net.json: --dt: a time step of 1e-30 ms is below the smallest"));
  options.dt_ms = 1e-3;
  options.duration_ms = 1e10;
  EXPECT_THAT(error_of(valid_network(), options),
              ::testing::StartsWith("net.json: --duration: a duration of 1e+10 ms at dt = 0.001 "
                                    "ms is 1e+13 steps, more than the limit of 2^32"));
}

// nlohmann keeps the last of two equal keys silently: a second "weight" made a network run with
// it unseen. Both readers share parse_json, which refuses the second with its line and pointer.
TEST(NetworkFile, DuplicateKeysAreRefusedWithTheirLineAndPointer) {
  const std::string text = R"({"format": "snnsim-network", "version": 1,
    "populations": [{"name": "E", "model": "lif_psc_exp", "size": 2}],
    "projections": [{"source": "E", "target": "E", "receptor": "ex",
      "connectivity": {"rule": "all_to_all"}, "weight": "1 pA",
      "weight": "100 pA"}]})";
  try {
    parse_network(text, "dup.json");
    FAIL() << "expected an error";
  } catch (const NetworkFileError& error) {
    EXPECT_STREQ(error.what(),
                 "dup.json:5: /projections/0/weight: duplicate key 'weight' (first on line 4); a "
                 "key may appear only once in an object");
  }
  // The pointer counts array elements of every kind and escapes '~' and '/'.
  const auto message = [](const std::string& json_text) {
    try {
      parse_json(json_text, "x.json");
    } catch (const NetworkFileError& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message(R"({"a": [1, [2], {"b": 1}, {"c": 1, "c": 2}]})"),
            "x.json:1: /a/3/c: duplicate key 'c' (first on line 1); a key may appear only once in "
            "an object");
  EXPECT_EQ(message(R"({"a/b": {"~": 1, "~": 2}})"),
            "x.json:1: /a~1b/~0: duplicate key '~' (first on line 1); a key may appear only once "
            "in an object");
  EXPECT_EQ(message(R"({"a": {"k": 1}, "b": {"k": 1}, "c": [{"k": 1}, {"k": 2}]})"), "no error");
}

TEST(NetworkFile, NumbersBeyondDoubleNameTheFileAndLine) {
  try {
    parse_network("{\n  \"format\": \"snnsim-network\",\n  \"version\": 1e400\n}", "big.json");
    FAIL() << "expected an error";
  } catch (const NetworkFileError& error) {
    EXPECT_THAT(error.what(), ::testing::StartsWith("big.json:3:"));
    EXPECT_THAT(error.what(),
                ::testing::HasSubstr("not valid JSON: number overflow parsing '1e400'"));
  }
}

TEST(NetworkFile, NonFiniteValuesFromFilesAreRefused) {
  const std::filesystem::path folder =
      std::filesystem::temp_directory_path() / ("snnsim-nonfinite-" + std::to_string(::getpid()));
  std::filesystem::create_directories(folder);
  std::vector<double> initial(20, -65.0);
  initial[3] = std::nan("");
  write_hdf5_arrays(folder / "initial.h5", {{"v", Hdf5Array{{20}, initial, false}}});
  json j = valid_network();
  j["populations"][1]["initial"] = {
      {"v", {{"file", "initial.h5"}, {"dataset", "v"}, {"unit", "mV"}}}};
  const NetworkSpec spec = parse_network(j.dump(), (folder / "net.json").string());
  try {
    build_network(spec);
    FAIL() << "expected an error";
  } catch (const NetworkFileError& error) {
    EXPECT_THAT(error.what(), ::testing::EndsWith("/populations/1/initial/v: initial.h5: dataset "
                                                  "'v': expected finite values; element 3 is nan"));
  }
  std::filesystem::remove_all(folder);
}

TEST(NetworkFile, UnknownOverrideIsAnError) {
  LoadOptions options;
  options.parameter_overrides["M"] = "3";
  EXPECT_THAT(error_of(valid_network(), options), ::testing::HasSubstr("M"));
}

TEST(NetworkFile, MissingFileIsAnError) {
  EXPECT_THROW(load_network_file("/nonexistent/net.json"), NetworkFileError);
}

TEST(NetworkFile, NetworksTooLargeForThisMachineAreRefusedBeforeBuilding) {
  json j = valid_network();
  j["parameters"]["N"] = 4000000000.0;
  j["projections"][0]["connectivity"] = {{"rule", "all_to_all"}};
  const NetworkSpec spec = parse(j);
  try {
    check_memory(spec);
    FAIL() << "expected an error";
  } catch (const NetworkFileError& error) {
    EXPECT_THAT(error.what(),
                ::testing::StartsWith("net.json: /projections/0: the network needs about"));
    EXPECT_THAT(error.what(), ::testing::HasSubstr("in projection 'E->I:ex'"));
    EXPECT_THAT(error.what(), ::testing::HasSubstr("of memory"));
  }
  EXPECT_NO_THROW(check_memory(parse(valid_network())));
  EXPECT_NEAR(estimate_memory(parse(valid_network())).synapses, 80 * 20 * 0.1 + 2 * 80, 1e-9);
}

TEST(NetworkFile, MutatedFilesFailOnlyWithNetworkFileErrors) {
  // Random byte edits of a valid file (fixed seed): every outcome is a valid network or a
  // NetworkFileError with one line, never another exception.
  const std::string original = valid_network().dump(1);
  std::mt19937 random(5);
  const std::string alphabet = "{}[]\",:0123456789-eE. abNx";
  int rejected = 0;
  for (int trial = 0; trial < 500; ++trial) {
    const std::string text = testing::mutated(original, 1 + trial % 4, alphabet, random);
    try {
      parse_network(text, "mutated.json");
    } catch (const NetworkFileError& error) {
      ++rejected;
      ASSERT_EQ(std::string(error.what()).find('\n'), std::string::npos) << error.what();
    } catch (const std::exception& error) {
      FAIL() << "unexpected exception " << error.what() << " for:\n" << text;
    }
  }
  EXPECT_GT(rejected, 250);  // most edits break something
}

TEST(NetworkFile, ShippedExamplesAreValid) {
  for (const char* example : {"coba.json", "brunel.json"}) {
    EXPECT_NO_THROW(load_network_file(std::string(SNNSIM_SOURCE_DIR "/examples/") + example))
        << example;
  }
}

}  // namespace
}  // namespace snnsim
