"""NIR graphs written by snnTorch's own export, with snnTorch's own spikes, for snnsim's NIR import
tests (tests/nir_import_test.cpp, NirImport.SnnTorchGraphs...).

Written with snnTorch 1.0.0 (snntorch.export_nir.export_to_nir, through nirtorch 2.6), torch 2.15.0
and nir 1.0.8; snntorch_versions.json next to the fixtures records the versions of the last run.

For each fixture NAME this writes, into tests/fixtures/nir/:
  snntorch_NAME.nir           the graph snnTorch's export_to_nir gives, written with nir.write
  snntorch_NAME.input.npy     a seeded spike input [T, B, features] (float32, 0 or 1)
  snntorch_NAME.expected.npy  the network's output spikes on it [T, B, outputs] (float32), from
                              snnTorch stepping the network one timestep per call, as its docs do

The networks (weights seeded, scaled so that every layer spikes):
  leaky_zero      Linear -> Leaky -> Linear -> Leaky, reset_mechanism="zero"; the second Leaky
                  has one beta (and threshold) per neuron
  leaky_subtract  the same with snnTorch's defaults: reset_mechanism="subtract", reset_delay=True
  synaptic        Linear -> Synaptic -> Linear -> Leaky, reset_mechanism="zero", reset_delay=False
  synaptic_delayed  the same with Synaptic's default reset_delay=True
  rleaky          Linear -> RLeaky (all-to-all, its recurrent Linear has a bias) -> Linear ->
                  Leaky, reset_mechanism="zero", RLeaky with reset_delay=False
  rleaky_delayed  the same with RLeaky's default reset_delay=True

snnTorch's export writes no dt; its code uses dt = 1e-4 s (tau = dt / (1 - beta), r = tau / dt),
so the graphs are imported with --dt 1e-4. It writes no reset mode either: every neuron is a NIR
LIF/CubaLIF with v_reset = 0.

For the fixtures that snnsim reproduces exactly (leaky_zero, synaptic, rleaky) the seed is drawn
again until no membrane comes within 1e-4 of its threshold in any step, so that float32 rounding
(snnTorch's beta * U + I against NIR's forward Euler step) cannot flip a spike.

Regenerate (needs torch, snntorch, nirtorch, nir, numpy, h5py; bench/.venv-torch has them):
  bench/.venv-torch/bin/python tools/reference/make_snntorch_fixtures.py
"""

import json
import pathlib

import nir
import nirtorch
import numpy as np
import snntorch as snn
import snntorch.utils
import torch
from snntorch.export_nir import export_to_nir

OUT = pathlib.Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "nir"
T, B = 40, 3
N_IN, N_HIDDEN, N_OUT = 6, 10, 4
MARGIN = 1e-4
INPUT_RATE = 0.3


class TooClose(Exception):
    """A membrane came within MARGIN of its threshold: draw the fixture again."""


def linear(n_in, n_out, gain):
    layer = torch.nn.Linear(n_in, n_out)
    with torch.no_grad():
        layer.weight.mul_(gain)
        layer.bias.mul_(gain)
    return layer


def per_neuron(value, n):
    """A parameter of one value per neuron: with single values (0-d tensors), snnTorch's export
    writes 0-d LIF parameters, whose type nir 1.0.8's infer_types (called by export_to_nir) refuses
    ("type mismatch: 0.output: [[10]] -> 1.input: []")."""
    return torch.full((n,), float(value))


def leaky(beta, n, **options):
    return snn.Leaky(beta=per_neuron(beta, n), threshold=per_neuron(1.0, n), init_hidden=True, **options)


def leaky_zero():
    betas = torch.linspace(0.7, 0.95, N_OUT)
    return torch.nn.Sequential(
        linear(N_IN, N_HIDDEN, 2.0),
        leaky(0.8, N_HIDDEN, reset_mechanism="zero"),
        linear(N_HIDDEN, N_OUT, 2.0),
        # nir.LIF asserts that beta and threshold have one shape.
        snn.Leaky(
            beta=betas, threshold=torch.ones(N_OUT), reset_mechanism="zero", init_hidden=True
        ),
    )


def leaky_subtract():
    return torch.nn.Sequential(
        linear(N_IN, N_HIDDEN, 2.0),
        leaky(0.8, N_HIDDEN),
        linear(N_HIDDEN, N_OUT, 2.0),
        leaky(0.9, N_OUT),
    )


def synaptic(reset_delay):
    return torch.nn.Sequential(
        linear(N_IN, N_HIDDEN, 1.5),
        snn.Synaptic(
            alpha=per_neuron(0.6, N_HIDDEN),
            beta=per_neuron(0.8, N_HIDDEN),
            threshold=per_neuron(1.0, N_HIDDEN),
            reset_mechanism="zero",
            reset_delay=reset_delay,
            init_hidden=True,
        ),
        linear(N_HIDDEN, N_OUT, 2.0),
        leaky(0.85, N_OUT, reset_mechanism="zero"),
    )


def rleaky(reset_delay):
    recurrent = snn.RLeaky(
        beta=0.8,
        linear_features=N_HIDDEN,
        reset_mechanism="zero",
        reset_delay=reset_delay,
        init_hidden=True,
    )
    with torch.no_grad():
        recurrent.recurrent.weight.mul_(1.5)
        recurrent.recurrent.bias.mul_(1.5)
    return torch.nn.Sequential(
        linear(N_IN, N_HIDDEN, 2.0),
        recurrent,
        linear(N_HIDDEN, N_OUT, 2.0),
        leaky(0.85, N_OUT, reset_mechanism="zero"),
    )


# name: (network builder, whether snnsim must reproduce it exactly)
FIXTURES = {
    "leaky_zero": (leaky_zero, True),
    "leaky_subtract": (leaky_subtract, False),
    "synaptic": (lambda: synaptic(False), True),
    "synaptic_delayed": (lambda: synaptic(True), False),
    "rleaky": (lambda: rleaky(False), True),
    "rleaky_delayed": (lambda: rleaky(True), False),
}


def simulate(net, x, check_margin):
    """snnTorch's output spikes [T, B, N_OUT], one call per timestep from reset states."""
    gaps = []  # how far each membrane fire() compares is from its threshold
    for m in net:
        if isinstance(m, snn.SpikingNeuron):
            fire = m.fire

            def checked(mem, m=m, fire=fire):
                gaps.append((mem - m.threshold).abs().min().item())
                return fire(mem)

            m.fire = checked
    snntorch.utils.reset(net)
    out = []
    with torch.no_grad():
        for t in range(x.shape[0]):
            out.append(net(x[t]))
    for m in net:
        if isinstance(m, snn.SpikingNeuron):
            del m.fire
    snntorch.utils.reset(net)
    if check_margin and min(gaps) < MARGIN:
        raise TooClose
    return torch.stack(out).numpy().astype(np.float32)


def make(name, build, exact):
    for seed in range(100):
        torch.manual_seed(seed)
        net = build()
        x = (torch.rand(T, B, N_IN) < INPUT_RATE).float()
        try:
            expected = simulate(net, x, exact)
        except TooClose:
            continue
        spikes_per_output = expected.sum(axis=(0, 1))
        if spikes_per_output.min() == 0 or expected.mean() > 0.6:
            continue  # every output neuron spikes, and not in every step
        graph = export_to_nir(net, x[0, 0])  # one sample: the Input is [N_IN]
        snntorch.utils.reset(net)
        path = OUT / f"snntorch_{name}.nir"
        nir.write(path, graph, compression=None)
        nir.read(path)  # type checks on
        np.save(OUT / f"snntorch_{name}.input.npy", x.numpy().astype(np.float32))
        np.save(OUT / f"snntorch_{name}.expected.npy", expected)
        print(
            f"snntorch_{name}: seed {seed}, {int(expected.sum())} output spikes, "
            f"{path.stat().st_size} bytes"
        )
        return
    raise RuntimeError(f"{name}: no seed below 100 fits")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (build, exact) in FIXTURES.items():
        make(name, build, exact)
    versions = {
        "snntorch": snn.__version__,
        "torch": torch.__version__.split("+")[0],
        "nir": nir.__version__ if hasattr(nir, "__version__") else "unknown",
        "nirtorch": nirtorch.__version__,
        "dt_s": 1e-4,
        "script": "tools/reference/make_snntorch_fixtures.py",
    }
    (OUT / "snntorch_versions.json").write_text(json.dumps(versions, indent=2) + "\n")


if __name__ == "__main__":
    main()
