"""Which --dt reproduces each tool that writes NIR without recording its time step.

For each of snnTorch, Norse, Sinabs and Rockpool this builds a small seeded network (a Linear
layer into one layer of the tool's spiking neurons), writes it with the tool's own NIR export,
runs the tool's own simulation on a fixed seeded input spike train, then runs the exported .nir
with `snnsim infer --dt DT` for each candidate DT and prints how many output spikes differ:

  differ = (neuron-steps where exactly one of the two fires) / (neuron-steps where either fires)

0 means the same spikes. Rockpool's graph is also run rewritten: with the CubaLIF's w_in =
tau_syn / dt (its input jumps into the current by the whole weight, where the export writes
w_in = 1), and with its whole step written in NIR's terms (rockpool_step below): a right dt
alone does not reproduce it.

Needs torch, snntorch, norse, sinabs, rockpool, nir, nirtorch, numpy and h5py, e.g. in a venv
outside the repository. Sinabs 3.1.3 and Rockpool 3.1.0 require nir <= 1.0.4, whose LIF has no
v_reset, which snnTorch 1.0.0's export writes: run snnTorch with nir 1.0.8 and nirtorch 2.6 put
first on the path (docs/export.md has the figures this gave):
  python3 -m venv /work/venv-nirpeers
  /work/venv-nirpeers/bin/pip install torch snntorch norse sinabs rockpool nir nirtorch h5py
  /work/venv-nirpeers/bin/pip install --no-deps --target /work/venv-nirpeers-nir108 \
      nir==1.0.8 nirtorch==2.6
  /work/venv-nirpeers/bin/python tools/reference/nir_peer_time_steps.py norse sinabs rockpool
  PYTHONPATH=/work/venv-nirpeers-nir108 /work/venv-nirpeers/bin/python \
      tools/reference/nir_peer_time_steps.py snntorch
(--snnsim names the binary, default build/snnsim.) A tool whose build or export fails is
reported and skipped.
"""

import argparse
import copy
import importlib.metadata
import pathlib
import subprocess
import tempfile

import h5py
import nir
import numpy as np
import torch

T, B = 200, 4
N_IN, N_OUT = 8, 16
INPUT_RATE = 0.3
CANDIDATE_DTS = ["1us", "0.1ms", "1ms", "1s"]


def input_spikes():
    """The input every tool and snnsim get: [B, T, N_IN] of 0/1, seeded."""
    rng = np.random.default_rng(11)
    return (rng.random((B, T, N_IN)) < INPUT_RATE).astype(np.float32)


def seeded_linear(gain):
    torch.manual_seed(5)
    layer = torch.nn.Linear(N_IN, N_OUT, bias=False)
    with torch.no_grad():
        layer.weight.mul_(gain)
    return layer


# Each tool: (label, build) where build() returns (nir graph, output spikes [B, T, N_OUT]).


def snntorch_leaky():
    import snntorch as snn
    import snntorch.utils
    from snntorch.export_nir import export_to_nir

    # One beta and threshold per neuron: snnTorch's export of 0-d values fails nir's type check.
    net = torch.nn.Sequential(
        seeded_linear(1.5),
        snn.Leaky(beta=torch.full((N_OUT,), 0.9), threshold=torch.full((N_OUT,), 1.0),
                  init_hidden=True, reset_mechanism="zero"),
    )
    x = torch.from_numpy(input_spikes())
    snntorch.utils.reset(net)
    with torch.no_grad():
        out = torch.stack([net(x[:, t]) for t in range(T)], dim=1)
    graph = export_to_nir(net, x[0, 0])  # one sample: the Input is [N_IN]
    return graph, out.numpy()


def norse_lif_box():
    import norse.torch as norse

    cell = norse.LIFBoxCell(norse.LIFBoxParameters(tau_mem_inv=torch.tensor(100.0),
                                                   v_th=torch.tensor(1.0)))
    net = norse.SequentialState(seeded_linear(12.0), cell)
    x = torch.from_numpy(input_spikes())
    state, out = None, []
    with torch.no_grad():
        for t in range(T):
            z, state = net(x[:, t], state)
            out.append(z)
    graph = norse.to_nir(net, x[0, 0])
    return graph, torch.stack(out, dim=1).numpy()


def sinabs_iaf():
    import sinabs.layers
    from sinabs.activation import MembraneReset, SingleSpike
    from sinabs.nir import to_nir

    net = torch.nn.Sequential(
        seeded_linear(1.5),
        sinabs.layers.IAF(spike_fn=SingleSpike, reset_fn=MembraneReset(), spike_threshold=1.0),
    )
    x = torch.from_numpy(input_spikes())
    with torch.no_grad():
        out = net(x)  # Sinabs layers take [B, T, ...]
    graph = to_nir(net, x[:, :1])  # a sample of [B, T, N]: its v_mem has the batch first
    return graph, out.numpy()


def rockpool_lif():
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LIFTorch, LinearTorch
    from rockpool.nn.modules.torch.nir import to_nir

    torch.manual_seed(5)
    linear = LinearTorch((N_IN, N_OUT), has_bias=False)
    with torch.no_grad():
        linear.weight.mul_(0.15)
    lif = LIFTorch(N_OUT, tau_mem=0.02, tau_syn=0.005, dt=1e-3, threshold=1.0)
    net = Sequential(linear, lif)
    x = torch.from_numpy(input_spikes())
    with torch.no_grad():
        out, _, _ = net(x)
    graph = to_nir(net)
    return graph, out.detach().numpy()


def rewritten_cuba_lif(graph, dt_s, rewrite):
    """A copy of `graph` with rewrite(node) applied to every CubaLIF."""
    graph = copy.deepcopy(graph)
    for name, node in graph.nodes.items():
        if isinstance(node, nir.CubaLIF):
            rewrite(node)
        elif isinstance(node, nir.NIRGraph):
            graph.nodes[name] = rewritten_cuba_lif(node, dt_s, rewrite)
    return graph


def rockpool_w_in(dt_s):
    """w_in = tau_syn / dt: Rockpool's input jumps into the current by its full weight, which in
    NIR's i <- i + dt / tau_syn (-i + w_in I) takes w_in = tau_syn / dt."""
    def rewrite(node):
        node.w_in = np.asarray(node.tau_syn, dtype=np.float64) / dt_s
    return rewrite


def rockpool_step(dt_s):
    """Rockpool's whole step in NIR's Euler step: i <- beta (i + I), v <- alpha v + i, threshold
    subtracted. Euler-equivalent time constants tau' = dt / (1 - exp(-dt / tau)) give the decays,
    r = tau_mem' / dt adds the whole current to v, w_in = beta tau_syn' / dt gives the jump
    beta I, and the metadata reset = "subtract" the soft reset (snnsim's import reads it)."""
    def rewrite(node):
        tau_mem = np.asarray(node.tau_mem, dtype=np.float64)
        tau_syn = np.asarray(node.tau_syn, dtype=np.float64)
        alpha, beta = np.exp(-dt_s / tau_mem), np.exp(-dt_s / tau_syn)
        node.tau_mem = dt_s / (1 - alpha)
        node.tau_syn = dt_s / (1 - beta)
        node.r = node.tau_mem / dt_s
        node.w_in = beta * node.tau_syn / dt_s
        node.metadata = dict(node.metadata or {}, reset="subtract")
    return rewrite


def neuron_layer(graph):
    """The name of the one spiking node (flattened the way snnsim's import names it)."""
    for name, node in graph.nodes.items():
        if isinstance(node, (nir.LIF, nir.CubaLIF, nir.IF)):
            return name
        if isinstance(node, nir.NIRGraph):
            inner = neuron_layer(node)
            if inner:
                return name + "." + inner
    return None


def snnsim_spikes(snnsim, nir_file, dt, folder):
    """The output spikes of `snnsim infer NIR_FILE --dt DT` on input_spikes(), [B, T, N_OUT]."""
    graph = nir.read(nir_file)
    # A sample is [T, ...the Input's shape] (Sinabs and Rockpool write [1, N_IN], the others [N_IN]).
    x_file = folder / "x.npy"
    np.save(x_file, input_spikes().reshape(B, T, *graph.nodes["input"].input_type["input"]))
    trace = folder / "out.h5"
    subprocess.run([snnsim, "infer", str(nir_file), "--dt", dt, "--input", str(x_file), "-T",
                    str(T), "-t", "1", "-q", "-o", str(trace)], check=True,
                   stdout=subprocess.DEVNULL)
    spikes = np.zeros((B, T, N_OUT), dtype=bool)
    with h5py.File(trace, "r") as f:
        group = f["populations"][neuron_layer(graph)]["spikes"]
        spikes[group["sample"][()], group["step"][()], group["index"][()]] = True
    return spikes


def differing(reference, spikes):
    either = np.logical_or(reference, spikes).sum()
    return np.logical_xor(reference, spikes).sum() / max(either, 1)


def version(package):
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


CASES = {
    "snntorch": ("snnTorch", "Linear -> Leaky (beta 0.9, reset to zero)", snntorch_leaky),
    "norse": ("Norse", "Linear -> LIFBoxCell (tau_mem_inv 100/s, dt 1 ms)", norse_lif_box),
    "sinabs": ("Sinabs", "Linear -> IAF (SingleSpike, MembraneReset)", sinabs_iaf),
    "rockpool": ("Rockpool", "LinearTorch -> LIFTorch (tau_mem 20 ms, tau_syn 5 ms, dt 1 ms)",
                 rockpool_lif),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snnsim", default="build/snnsim")
    parser.add_argument("tools", nargs="*", default=list(CASES), choices=list(CASES),
                        help="which tools to measure (default: all)")
    args = parser.parse_args()
    print(f"torch {version('torch')}, nir {version('nir')}, nirtorch {version('nirtorch')}")
    print("differ: neuron-steps where exactly one fires / neuron-steps where either fires")
    with tempfile.TemporaryDirectory() as tmp:
        folder = pathlib.Path(tmp)
        for package in args.tools:
            tool, network, build = CASES[package]
            print(f"\n{tool} {version(package)}: {network}")
            try:
                graph, reference = build()
            except Exception as error:  # a tool that does not install or export is reported
                print(f"  cannot run: {type(error).__name__}: {error}")
                continue
            reference = reference.reshape(B, T, N_OUT)
            print(f"  its own simulation: {int((reference > 0).sum())} of {B * T * N_OUT} "
                  f"neuron-steps fire, {int((reference > 1).sum())} with more than one spike")
            reference = reference > 0
            variants = [("as written", graph)]
            if package == "rockpool":
                variants += [("w_in = tau_syn / dt", rewritten_cuba_lif(graph, 1e-3,
                                                                        rockpool_w_in(1e-3))),
                             ("Rockpool's step", rewritten_cuba_lif(graph, 1e-3,
                                                                    rockpool_step(1e-3)))]
            for label, g in variants:
                nir_file = folder / f"{package}.nir"
                nir.write(nir_file, g)
                for dt in CANDIDATE_DTS:
                    spikes = snnsim_spikes(args.snnsim, nir_file, dt, folder)
                    print(f"  {label:20s} --dt {dt:6s} {int(spikes.sum()):5d} fire, "
                          f"{100 * differing(reference, spikes):5.1f} % differ")


if __name__ == "__main__":
    main()
