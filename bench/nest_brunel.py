#!/usr/bin/env python3
"""Brunel 2000 model A as in examples/brunel.json, in NEST (the peer), with the parameters of
NEST's brunel_delta_nest example.

Prints one JSON object: peer, neurons, threads, wall_s (nest.Simulate alone), build_s (network
construction), rates {E, I} in Hz, cv_isi {E, I} (mean over neurons with at least 3 spikes; None
over MPI), processes. Under mpirun (a NEST built with MPI, and mpi4py) rank 0 prints it.
"""
import argparse
import json
import time

import numpy as np


def mean_cv(senders, times, ids):
    order = np.lexsort((times, senders))
    senders, times = senders[order], times[order]
    cvs = []
    for neuron in ids:
        lo, hi = np.searchsorted(senders, neuron), np.searchsorted(senders, neuron, side="right")
        if hi - lo >= 3:
            isi = np.diff(times[lo:hi])
            cvs.append(isi.std() / isi.mean())
    return float(np.mean(cvs)) if cvs else 0.0


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--duration", type=float, default=1.0, help="seconds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--order", type=int, default=2500, help="NI; NE = 4 order (2500: examples/brunel.json)")
    args = parser.parse_args()

    import nest
    nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": 0.1, "local_num_threads": args.threads,
                          "rng_seed": args.seed, "print_time": False})
    order, epsilon, J, g, eta, delay = args.order, 0.1, 0.1, 5.0, 2.0, 1.5
    n_e, n_i = 4 * order, order
    c_e, c_i = int(epsilon * n_e), int(epsilon * n_i)
    tau_m, theta = 20.0, 20.0
    nu_th = theta / (J * c_e * tau_m)
    p_rate = 1000.0 * eta * nu_th * c_e
    params = {"C_m": 1.0, "tau_m": tau_m, "t_ref": 2.0, "E_L": 0.0, "V_reset": 10.0, "V_m": 0.0,
              "V_th": theta}

    start = time.perf_counter()
    nodes_e = nest.Create("iaf_psc_delta", n_e, params=params)
    nodes_i = nest.Create("iaf_psc_delta", n_i, params=params)
    noise = nest.Create("poisson_generator", params={"rate": p_rate})
    recorder_e = nest.Create("spike_recorder")
    recorder_i = nest.Create("spike_recorder")
    nest.CopyModel("static_synapse", "excitatory", {"weight": J, "delay": delay})
    nest.CopyModel("static_synapse", "inhibitory", {"weight": -g * J, "delay": delay})
    nest.Connect(noise, nodes_e + nodes_i, syn_spec="excitatory")
    nest.Connect(nodes_e, recorder_e)
    nest.Connect(nodes_i, recorder_i)
    nest.Connect(nodes_e, nodes_e + nodes_i, {"rule": "fixed_indegree", "indegree": c_e}, "excitatory")
    nest.Connect(nodes_i, nodes_e + nodes_i, {"rule": "fixed_indegree", "indegree": c_i}, "inhibitory")
    build_s = time.perf_counter() - start

    start = time.perf_counter()
    nest.Simulate(args.duration * 1000.0)
    wall_s = time.perf_counter() - start

    result = {"peer": "nest", "nest_version": nest.__version__, "neurons": n_e + n_i,
              "threads": args.threads, "wall_s": wall_s, "build_s": build_s, "rates": {}, "cv_isi": {}}
    processes = nest.NumProcesses()
    result["processes"] = processes
    for name, nodes, recorder in (("E", nodes_e, recorder_e), ("I", nodes_i, recorder_i)):
        events = recorder.get("events")
        senders, times = np.asarray(events["senders"]), np.asarray(events["times"])
        count = len(times)
        if processes > 1:  # over MPI each process records its own neurons' spikes
            from mpi4py import MPI
            count = MPI.COMM_WORLD.allreduce(count)
        result["rates"][name] = count / len(nodes) / args.duration
        result["cv_isi"][name] = mean_cv(senders, times, np.asarray(nodes.tolist())) if processes == 1 else None
    if nest.Rank() == 0:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
