// Neuron models against analytic solutions (as NEST's test_iaf_* tests), and the rules every
// model shares: refractoriness, reset modes, delays exact to the step, parameter checks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "encoders/external_drive.h"
#include "sim/models/lif_psc_exp.h"
#include "tests/test_support.h"

namespace snnsim {
namespace {

using testing::add_population;
using testing::add_projection;
using testing::run_steps;

std::vector<Step> spike_steps(const testing::Recording& r, std::size_t population) {
  std::vector<Step> steps;
  for (const auto& [step, neuron] : r.spikes[population])
    steps.push_back(step);
  return steps;
}

/// The step in which a threshold crossed at time t (ms) is reported: the update of step s
/// computes v((s + 1) dt).
Step crossing_step(double t_ms, double dt_ms) {
  return static_cast<Step>(std::ceil(t_ms / dt_ms - 1e-9)) - 1;
}

TEST(LifPscDelta, DcDrivenSpikeTimesMatchTheAnalyticSolution) {
  // v(t) = E_L + R I (1 - exp(-t/tau_m)); first crossing at t1 = -tau ln(1 - (V_th - E_L)/(R I));
  // after a spike: t_ref clamped, then from V_reset: T = tau ln((R I - (V_reset - E_L)) /
  // (R I - (V_th - E_L))).
  Network network;
  const double tau = 10, c_m = 250, e_l = -70, v_th = -55, v_reset = -70, t_ref = 2, i_e = 500;
  add_population(network, "n", "lif_psc_delta", 1,
                 {{"tau_m", tau},
                  {"C_m", c_m},
                  {"E_L", e_l},
                  {"V_th", v_th},
                  {"V_reset", v_reset},
                  {"t_ref", t_ref},
                  {"I_e", i_e}});
  const auto steps = spike_steps(run_steps(network, 2000), 0);
  const double r_i = tau / c_m * i_e;  // mV
  const double t1 = -tau * std::log(1 - (v_th - e_l) / r_i);
  const double period = tau * std::log((r_i - (v_reset - e_l)) / (r_i - (v_th - e_l)));
  ASSERT_GE(steps.size(), 5u);
  EXPECT_NEAR(static_cast<double>(steps[0]), static_cast<double>(crossing_step(t1, network.dt_ms)),
              1.0);
  const Step refractory_steps = 20;
  for (std::size_t k = 1; k < steps.size(); ++k) {
    // Integration restarts at the step after the refractory ones.
    const Step restart = steps[k - 1] + refractory_steps + 1;
    EXPECT_NEAR(static_cast<double>(steps[k]),
                static_cast<double>(restart + crossing_step(period, network.dt_ms)), 1.0)
        << "spike " << k;
  }
}

TEST(LifPscDelta, SpikeArrivesExactlyAfterItsDelay) {
  Network network;
  PopulationData data;
  data.spike_steps = {{10}};  // 1.0 ms
  const auto source = add_population(network, "s", "spike_generator", 1, {}, data);
  const auto target =
      add_population(network, "n", "lif_psc_delta", 1, {{"E_L", 0}, {"V_th", 100}, {"V_reset", 0}});
  add_projection(network, source, target, "v", {0}, {0}, 2.5f, 23);
  network.probes.push_back({target, 0, {0}, 1});
  const auto recording = run_steps(network, 60);
  const auto& v = recording.samples[0];
  // Jump in the update of step 10 + 23, nothing before.
  for (Step s = 0; s < 33; ++s)
    EXPECT_EQ(v[s][0], 0.0f) << "step " << s;
  EXPECT_NEAR(v[33][0], 2.5f, 1e-6);
}

TEST(LifPscDelta, RefractoryNeuronIgnoresInputAndHoldsReset) {
  Network network;
  PopulationData data;
  data.spike_steps = {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}};
  const auto source = add_population(network, "s", "spike_generator", 1, {}, data);
  const auto target =
      add_population(network, "n", "lif_psc_delta", 1,
                     {{"E_L", 0}, {"V_th", 10}, {"V_reset", 0}, {"t_ref", 0.5}, {"tau_m", 1e9}});
  add_projection(network, source, target, "v", {0}, {0}, 20.0f, 1);
  const auto steps = spike_steps(run_steps(network, 30), 1);
  // Input every step from step 1 on; each spike is followed by 5 refractory steps in which the
  // input is discarded, so spikes come every 6 steps.
  EXPECT_THAT(steps, ::testing::ElementsAre(1, 7, 13, 19));
}

TEST(LifPscDelta, SoftResetKeepsTheOvershoot) {
  Network network;
  PopulationData data;
  data.spike_steps = {{0}};
  const auto source = add_population(network, "s", "spike_generator", 1, {}, data);
  const auto target = add_population(
      network, "n", "lif_psc_delta", 1,
      {{"E_L", 0}, {"V_th", 10}, {"V_reset", 0}, {"t_ref", 0}, {"tau_m", 1e9}, {"reset", 1}});
  add_projection(network, source, target, "v", {0}, {0}, 13.0f, 1);
  network.probes.push_back({target, 0, {0}, 1});
  const auto recording = run_steps(network, 3);
  EXPECT_NEAR(recording.samples[0][1][0], 3.0f, 1e-5);  // 13 - (10 - 0)
  EXPECT_EQ(recording.spikes[1].size(), 1u);
}

TEST(LifPscExp, PostsynapticPotentialMatchesTheAnalyticKernel) {
  // v(t) - E_L = w / C_m * tau_s tau_m / (tau_m - tau_s) * (exp(-t/tau_m) - exp(-t/tau_s)).
  Network network;
  const double tau_m = 10, tau_s = 2, c_m = 250, w = 1000;
  PopulationData data;
  data.spike_steps = {{5}};
  const auto source = add_population(network, "s", "spike_generator", 1, {}, data);
  const auto target = add_population(network, "n", "lif_psc_exp", 1,
                                     {{"tau_m", tau_m},
                                      {"tau_syn_ex", tau_s},
                                      {"C_m", c_m},
                                      {"E_L", 0},
                                      {"V_th", 100},
                                      {"V_reset", 0}});
  add_projection(network, source, target, "ex", {0}, {0}, static_cast<float>(w), 10);
  network.probes.push_back({target, 0, {0}, 1});
  const auto recording = run_steps(network, 600);
  const Step arrival = 15;  // the current jumps at the end of this step's update
  double peak = 0;
  for (Step s = arrival; s < 600; ++s) {
    const double t = (s - arrival) * network.dt_ms;
    const double expected =
        w / c_m * tau_s * tau_m / (tau_m - tau_s) * (std::exp(-t / tau_m) - std::exp(-t / tau_s));
    EXPECT_NEAR(recording.samples[0][s][0], expected, 1e-4 * std::max(1.0, std::abs(expected)))
        << "step " << s;
    peak = std::max(peak, expected);
  }
  EXPECT_GT(peak, 1.0);  // the kernel was really exercised
  for (Step s = 0; s < arrival; ++s)
    EXPECT_EQ(recording.samples[0][s][0], 0.0f);
}

TEST(LifPscExp, EqualTimeConstantsUseTheLimitPropagator) {
  const double h = 0.1, tau = 5, c = 100;
  const double near = LifPscExp::current_to_voltage(tau * (1 + 1e-7), tau, c, h);
  EXPECT_NEAR(LifPscExp::current_to_voltage(tau, tau, c, h), near, 1e-9);
  EXPECT_NEAR(LifPscExp::current_to_voltage(tau, tau, c, h), h / c * std::exp(-h / tau), 1e-15);
}

TEST(LifCondExp, MatchesANaiveDoublePrecisionIntegrationAndDecaysExactly) {
  Network network;
  const auto n = add_population(network, "n", "lif_cond_exp", 1, {{"V_th", 100}});
  auto& dynamics = *network.populations[n].dynamics;
  dynamics.state(1)[0] = 30.0f;  // g_ex, nS
  dynamics.state(2)[0] = 40.0f;  // g_in, nS
  network.probes.push_back({n, 0, {0}, 1});
  network.probes.push_back({n, 1, {0}, 1});
  const auto recording = run_steps(network, 500);
  double v = -60, g_ex = 30, g_in = 40;
  const double dt = 0.1;
  for (int s = 0; s < 500; ++s) {
    v += dt / 200 * (10 * (-60 - v) + g_ex * (0 - v) + g_in * (-80 - v));
    g_ex *= std::exp(-dt / 5);
    g_in *= std::exp(-dt / 10);
    ASSERT_NEAR(recording.samples[0][s][0], v, 1e-3) << "step " << s;
    ASSERT_NEAR(recording.samples[1][s][0], 30 * std::exp(-(s + 1) * dt / 5), 1e-4) << "step " << s;
  }
}

TEST(IfPscDelta, IntegratesCurrentWithoutLeak) {
  Network network;
  add_population(network, "n", "if_psc_delta", 1,
                 {{"C_m", 100}, {"I_e", 50}, {"V_reset", 0}, {"V_th", 1000}});
  network.probes.push_back({0, 0, {0}, 1});
  const auto recording = run_steps(network, 100);
  EXPECT_NEAR(recording.samples[0][99][0], 50.0 / 100 * 100 * 0.1, 1e-3);  // I/C * t
}

TEST(ModelParameters, EveryProblemIsReportedAtOnce) {
  const NeuronModelInfo* model = find_neuron_model("lif_psc_exp");
  PopulationSetup setup{"x", 1, 0, {}, 0.1, {}, {}};
  for (const ParameterSpec& p : model->parameters)
    setup.parameters.push_back(p.default_value);
  setup.parameters[model->parameter_index("C_m")] = -1;
  setup.parameters[model->parameter_index("tau_syn_in")] = 0;
  setup.parameters[model->parameter_index("V_reset")] = -40;
  try {
    model->create(setup);
    FAIL() << "expected a ParameterError";
  } catch (const ParameterError& error) {
    EXPECT_THAT(error.what(), ::testing::HasSubstr("C_m must be positive (got -1 pF)"));
    EXPECT_THAT(error.what(), ::testing::HasSubstr("tau_syn_in must be positive"));
    EXPECT_THAT(error.what(), ::testing::HasSubstr("V_reset must be below V_th"));
  }
}

TEST(ModelSet, EveryModelDescribesItselfCompletely) {
  for (const NeuronModelInfo& model : neuron_models()) {
    EXPECT_FALSE(model.summary.empty()) << model.name;
    for (const ParameterSpec& p : model.parameters)
      EXPECT_FALSE(p.description.empty()) << model.name << "." << p.name;
    for (const StateSpec& s : model.state) {
      if (!s.default_parameter.empty()) {
        EXPECT_GE(model.parameter_index(s.default_parameter), 0) << model.name;
      }
    }
    EXPECT_LE(model.receptors.size(), kMaxReceptors);
  }
}

}  // namespace
}  // namespace snnsim
