#!/usr/bin/env python3
"""The COBA benchmark of examples/coba.json in Brian2's C++ standalone mode (the peer).

Prints one JSON object: peer, neurons, synapses, threads, wall_s (the simulation run of the
compiled binary, code generation and compilation excluded), build_s (code generation and
compilation), mean_rate_hz. Same model, parameters and integration scheme as snnsim's
lif_cond_exp: forward Euler for v, conductances decaying exponentially, 5 ms refractoriness.
"""
import argparse
import json
import tempfile
import time

import brian2 as b2
import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--N", type=int, default=4000)
    parser.add_argument("--duration", type=float, default=1.0, help="seconds")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--spikes", help="also save the spikes to this .npz (tools/reference/spikes_to_trace.py)")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float64",
                        help="Brian2's float type (its default: float64; snnsim computes in float32)")
    parser.add_argument("--device", choices=["cpp_standalone", "cuda_standalone"], default="cpp_standalone",
                        help="cuda_standalone: Brian2CUDA on the GPU (needs the brian2cuda package)")
    args = parser.parse_args()

    directory = tempfile.mkdtemp(prefix="brian2-coba-")
    if args.device == "cuda_standalone":
        import brian2cuda  # noqa: F401  (registers the cuda_standalone device)
    b2.set_device(args.device, directory=directory, build_on_run=False)
    b2.prefs.devices.cpp_standalone.openmp_threads = args.threads if args.threads > 1 else 0
    b2.prefs.core.default_float_dtype = getattr(b2, args.dtype)
    b2.seed(args.seed)

    from brian2 import ms, mV, nS, pF
    C_m, g_L, E_L, V_th, V_reset = 200 * pF, 10 * nS, -60 * mV, -50 * mV, -60 * mV
    E_ex, E_in, tau_ex, tau_in = 0 * mV, -80 * mV, 5 * ms, 10 * ms
    equations = b2.Equations("""
        dv/dt = (g_L * (E_L - v) + g_ex * (E_ex - v) + g_in * (E_in - v)) / C_m : volt (unless refractory)
        dg_ex/dt = -g_ex / tau_ex : siemens
        dg_in/dt = -g_in / tau_in : siemens
    """)
    neurons = b2.NeuronGroup(args.N, equations, threshold="v > V_th", reset="v = V_reset",
                             refractory=5 * ms, method="euler")
    neurons.v = "V_reset + rand() * (V_th - V_reset)"
    neurons.g_ex = "(4 + 1.5 * randn()) * nS"
    neurons.g_in = "(20 + 12 * randn()) * nS"
    n_exc = round(0.8 * args.N)
    p = 80.0 / args.N
    excitatory = b2.Synapses(neurons, neurons, on_pre="g_ex += 6 * nS")
    excitatory.connect(condition=f"i < {n_exc}", p=p)
    inhibitory = b2.Synapses(neurons, neurons, on_pre="g_in += 67 * nS")
    inhibitory.connect(condition=f"i >= {n_exc}", p=p)
    # Counts only, like snnsim without -o, unless --spikes asks for the spikes themselves.
    spikes = b2.SpikeMonitor(neurons, record=bool(args.spikes))
    b2.run(args.duration * b2.second)

    start = time.perf_counter()
    b2.device.build(directory=directory, compile=True, run=False)
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    b2.device.run(directory=directory, with_output=False, run_args=[])
    wall_s = time.perf_counter() - start
    if args.spikes:
        # Per population, as tools/reference/spikes_to_trace.py reads them: E is neurons
        # 0..n_exc-1, I the rest (renumbered from 0), as in examples/coba.json.
        t, i = np.asarray(spikes.t / b2.second), np.asarray(spikes.i)
        np.savez(args.spikes, E_t=t[i < n_exc], E_i=i[i < n_exc], I_t=t[i >= n_exc], I_i=i[i >= n_exc] - n_exc)
    print(json.dumps({
        "peer": f"brian2-{args.device}",
        "brian2_version": b2.__version__,
        "neurons": args.N,
        "synapses": int(len(excitatory) + len(inhibitory)),
        "threads": args.threads,
        "dtype": args.dtype,
        "wall_s": wall_s,
        "brian2_run_s": float(b2.device._last_run_time),
        "build_s": build_s,
        "mean_rate_hz": float(spikes.num_spikes) / args.N / args.duration,
    }))


if __name__ == "__main__":
    main()
