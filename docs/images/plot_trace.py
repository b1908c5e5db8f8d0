#!/usr/bin/env python3
"""Draws the README's pictures from a snnsim trace, with h5py and matplotlib only (an optional
tool; `snnsim trace` will draw plots natively).

usage: python3 docs/images/plot_trace.py coba.h5 docs/images/coba
writes PREFIX-raster.png (raster of the first neurons and population rate) and PREFIX-v.png
(sampled membrane potentials), when the trace holds them. For a layer-graph trace
(snnsim infer -o), writes PREFIX-layers.png: each spiking layer's firing rate per timestep, and
the first neuron layer's spikes of sample 0 per pixel, summed over channels and timesteps.
"""
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def plot_layers(f, prefix):
    timesteps, samples = int(f.attrs["timesteps"]), int(f.attrs["samples"])
    neurons = ("lif", "if", "threshold", "multilevel", "ternary", "elastic_bispike")
    layers = [name for name in f["populations"] if f["populations"][name].attrs.get("op") in neurons]
    figure, (rates, picture) = plt.subplots(1, 2, figsize=(9, 3.4), gridspec_kw={"width_ratios": [3, 2]})
    for name in layers:
        group = f["populations"][name]
        counts = np.bincount(group["spikes/step"][:], minlength=timesteps)
        rates.plot(np.arange(timesteps), 100 * counts / (int(group.attrs["size"]) * samples), marker="o",
                   ms=3, label=name)
    rates.set_xlabel("timestep")
    rates.set_ylabel("firing rate (%)")
    rates.set_title(f"{f.attrs['network_path']}: per layer, {samples} samples")
    rates.legend(loc="upper right", fontsize=8)
    first = f["populations"][layers[0]]
    channels, height, width = first.attrs["shape"]
    sample0 = first["spikes/sample"][:] == 0
    pixels = first["spikes/index"][:][sample0] % (height * width)
    image = np.bincount(pixels, minlength=height * width).reshape(height, width)
    shown = picture.imshow(image, cmap="magma")
    picture.set_title(f"{layers[0]}, sample 0: spikes per pixel")
    picture.set_xticks([])
    picture.set_yticks([])
    figure.colorbar(shown, ax=picture, fraction=0.046)
    figure.tight_layout()
    figure.savefig(f"{prefix}-layers.png", dpi=110)


def main(trace_path, prefix, shown=200):
    with h5py.File(trace_path, "r") as f:
        if f.attrs.get("kind") == "layer_graph":
            plot_layers(f, prefix)
            return
        dt = f.attrs["dt"]
        duration = f.attrs["steps_completed"] * dt
        populations = [name for name in f["populations"] if "spikes" in f["populations"][name]]
        figure, (raster, rate) = plt.subplots(2, 1, figsize=(8, 5), sharex=True,
                                              gridspec_kw={"height_ratios": [3, 1]})
        offset = 0
        colors = {"E": "tab:blue", "I": "tab:red"}
        bins = np.arange(0, duration + 1e-9, 0.005)
        for name in populations:
            group = f["populations"][name]
            size = int(group.attrs["size"])
            times = group["spikes/step"][:] * dt
            neurons = group["spikes/index"][:]
            keep = neurons < shown
            raster.scatter(times[keep], neurons[keep] + offset, s=0.6, color=colors.get(name), label=name)
            offset += shown
            counts, _ = np.histogram(times, bins)
            rate.plot(bins[:-1], counts / size / 0.005, color=colors.get(name), lw=1, label=name)
        raster.set_ylabel(f"neuron (first {shown} of each)")
        raster.set_title(f"{f.attrs['network_path']}: spikes")
        raster.legend(loc="upper right", markerscale=8)
        rate.set_xlabel("time (s)")
        rate.set_ylabel("rate (Hz)")
        figure.tight_layout()
        figure.savefig(f"{prefix}-raster.png", dpi=110)

        for name in populations:
            state = f["populations"][name].get("state")
            if state is None or "v" not in state:
                continue
            v = state["v"]
            t = np.arange(v.shape[0]) * v.attrs["interval"]
            figure, axis = plt.subplots(figsize=(8, 3))
            for column, neuron in enumerate(v.attrs["neurons"][:3]):
                axis.plot(t, v[:, column], lw=0.8, label=f"{name} {neuron}")
            axis.set_xlabel("time (s)")
            axis.set_ylabel(f"v ({v.attrs['unit']})")
            axis.set_title("membrane potential")
            axis.legend(loc="upper right")
            figure.tight_layout()
            figure.savefig(f"{prefix}-v.png", dpi=110)
            break


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
