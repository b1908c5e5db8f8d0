#!/usr/bin/env python3
"""Writes another simulator's spikes as an snnsim trace, so that `snnsim trace compare` (and the
other `snnsim trace` commands) can read them.

usage: spikes_to_trace.py OUT.h5 SPIKES.npz --population NAME SIZE [--population ...]
                          --dt SECONDS --duration SECONDS [--simulator NAME]

SPIKES.npz holds, per population NAME, two arrays: NAME_t (spike times in seconds) and NAME_i
(neuron indices, 0 to SIZE - 1), as a Brian2 SpikeMonitor gives them (t / second, i) or a NEST
spike recorder (times / 1000, senders - first id). bench/brian2_coba.py --spikes writes one for
the COBA network. Times become steps of --dt (round(t / dt)); spikes are stored in time order and
by neuron within a step, in the layout and storage `snnsim run` writes (docs/trace-format.md).
Needs NumPy and h5py. Example, snnsim against Brian2 on COBA:

  bench/.venv-brian2/bin/python bench/brian2_coba.py --duration 1 --spikes b2.npz
  python tools/reference/spikes_to_trace.py b2.h5 b2.npz --population E 3200 --population I 800 \\
      --dt 1e-4 --duration 1 --simulator brian2
  build/snnsim run examples/coba.json -o coba.h5
  build/snnsim trace compare coba.h5 b2.h5
"""
import argparse
import json

import h5py
import numpy as np

CHUNK = 65536


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("spikes")
    parser.add_argument("--population", nargs=2, action="append", metavar=("NAME", "SIZE"), required=True)
    parser.add_argument("--dt", type=float, required=True, help="seconds")
    parser.add_argument("--duration", type=float, required=True, help="seconds")
    parser.add_argument("--simulator", default="another simulator")
    args = parser.parse_args()
    steps = int(round(args.duration / args.dt))
    data = np.load(args.spikes)
    with h5py.File(args.out, "w") as f:
        string = h5py.string_dtype()
        for name, value in {"format": "snnsim-trace", "snnsim_version": f"converted from {args.simulator}",
                            "network": json.dumps({"converted_from": args.simulator}),
                            "network_path": args.spikes, "backend": args.simulator, "kind": "population"}.items():
            f.attrs.create(name, value, dtype=string)
        f.attrs.create("version", 1, dtype="u8")
        f.attrs["dt"] = args.dt
        f.attrs["duration"] = args.duration
        f.attrs.create("steps_completed", steps, dtype="u8")
        f.attrs.create("complete", 1, dtype="i4")
        f.attrs.create("seed", 0, dtype="u8")
        f.attrs.create("threads", 1, dtype="i4")
        for name, size in args.population:
            size = int(size)
            times, neurons = np.asarray(data[f"{name}_t"], dtype=float), np.asarray(data[f"{name}_i"], dtype=np.int64)
            if times.shape != neurons.shape:
                raise SystemExit(f"{args.spikes}: {name}_t and {name}_i differ in length")
            if neurons.size and (neurons.min() < 0 or neurons.max() >= size):
                raise SystemExit(f"{args.spikes}: {name}_i has neurons outside 0..{size - 1}")
            step = np.rint(times / args.dt).astype(np.uint64)
            keep = step < steps
            order = np.lexsort((neurons[keep], step[keep]))
            group = f.create_group(f"populations/{name}")
            group.attrs.create("size", size, dtype="u4")
            spikes = group.create_group("spikes")
            options = dict(maxshape=(None,), chunks=(CHUNK,), shuffle=True, compression="gzip", compression_opts=4)
            spikes.create_dataset("step", data=step[keep][order], dtype="u8", **options)
            spikes.create_dataset("index", data=neurons[keep][order].astype(np.uint32), dtype="u4", **options)
            spikes.attrs.create("count", int(keep.sum()), dtype="u8")


if __name__ == "__main__":
    main()
