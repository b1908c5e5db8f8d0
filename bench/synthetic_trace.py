"""Writes a large synthetic snnsim trace (docs/trace-format.md) for `bench/run trace`.

usage: synthetic_trace.py OUT.h5 --neurons N --rate HZ --duration S

One population "P" of N independent Bernoulli (discrete-time Poisson) trains at the given rate,
dt = 0.1 ms, in the layout and storage `snnsim run` writes (chunks of 65,536 spikes, shuffle and
deflate level 4), so reading it costs what reading a simulated trace of the same spikes costs.
It is written with h5py and NumPy in blocks (memory stays bounded): a simulated trace of the same
size takes `snnsim run` about 20 s per 10^7 spikes on a 2-core VM, over ten times longer.
"""
import argparse

import h5py
import numpy as np

DT = 1e-4
CHUNK = 65536
BLOCK_STEPS = 10000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--neurons", type=int, default=100000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--duration", type=float, default=1.0, help="seconds")
    args = parser.parse_args()
    steps = int(round(args.duration / DT))
    generator = np.random.default_rng(1)
    with h5py.File(args.out, "w") as f:
        string = h5py.string_dtype()
        attributes = {"format": ("snnsim-trace", string), "snnsim_version": ("synthetic", string),
                      "network": ("{}", string), "network_path": ("synthetic", string),
                      "backend": ("cpu", string), "kind": ("population", string)}
        for name, (value, dtype) in attributes.items():
            f.attrs.create(name, value, dtype=dtype)
        f.attrs.create("version", 1, dtype="u8")
        f.attrs["dt"] = DT
        f.attrs["duration"] = steps * DT
        f.attrs.create("steps_completed", steps, dtype="u8")
        f.attrs.create("complete", 1, dtype="i4")
        f.attrs.create("seed", 1, dtype="u8")
        f.attrs.create("threads", 1, dtype="i4")
        group = f.create_group("populations/P")
        group.attrs.create("size", args.neurons, dtype="u4")
        spikes = group.create_group("spikes")
        options = dict(maxshape=(None,), chunks=(CHUNK,), shuffle=True, compression="gzip", compression_opts=4)
        step_data = spikes.create_dataset("step", (0,), dtype="u8", **options)
        index_data = spikes.create_dataset("index", (0,), dtype="u4", **options)
        count = 0
        for first in range(0, steps, BLOCK_STEPS):
            block = min(BLOCK_STEPS, steps - first)
            fired = generator.binomial(args.neurons, args.rate * DT, size=block)
            step = np.repeat(np.arange(first, first + block, dtype=np.uint64), fired)
            index = generator.integers(0, args.neurons, size=step.size, dtype=np.uint32)
            # Time order, and by neuron within a step; a neuron fires at most once per step.
            key = np.unique(step * np.uint64(args.neurons) + index)
            step, index = key // np.uint64(args.neurons), (key % np.uint64(args.neurons)).astype(np.uint32)
            for dataset, values in ((step_data, step), (index_data, index)):
                dataset.resize((count + values.size,))
                dataset[count:] = values
            count += step.size
        spikes.attrs.create("count", count, dtype="u8")


if __name__ == "__main__":
    main()
