#!/usr/bin/env python3
"""Writes the weights and inputs of a bench/networks/*.json layer graph for `bench/run deep`.

usage: deep_snn_data.py NETWORK.json DIRECTORY [--rates 0.01 0.05 ...] [--samples 64 256 ...]

Copies NETWORK.json into DIRECTORY, writes its weights file there (safetensors, float32, no
biases; each linear/conv weight drawn from a normal distribution with standard deviation
GAIN / sqrt(fan_in), from one NumPy generator with a fixed seed, in node order) and, for every
rate p and sample count N, DIRECTORY/NETWORK-input-p{p}-n{N}.npy: N samples of the input shape filled
with p (the rate encoder then gives input firing rate p). Needs NumPy only.
"""
import argparse
import json
import shutil
import struct
from pathlib import Path

import numpy as np

SEED = 20261124
# GAIN per weighted node; chosen so that the hidden LIF layers fire at a few to ~20 % over input
# rates of 1-20 % (bench/run deep reports the rates measured).
GAINS = {"conv1": 4.0, "conv2": 4.0, "conv3": 4.0, "fc": 2.0,
         "fc1": 5.0, "fc2": 5.0, "fc3": 2.0}


def weight_shape(node):
    if node["op"] == "linear":
        return [node["out_features"], node["in_features"]]
    if node["op"] == "conv2d":
        k = node["kernel"]
        kh, kw = (k, k) if isinstance(k, int) else k
        return [node["out_channels"], node["in_channels"] // node.get("groups", 1), kh, kw]
    return None


def write_safetensors(path, tensors):
    header, offset = {}, 0
    for name, array in tensors.items():
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as file:
        file.write(struct.pack("<Q", len(text)))
        file.write(text.encode())
        for array in tensors.values():
            file.write(np.ascontiguousarray(array, dtype="<f4").tobytes())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("network")
    parser.add_argument("directory")
    parser.add_argument("--rates", type=float, nargs="*", default=[])
    parser.add_argument("--samples", type=int, nargs="*", default=[])
    args = parser.parse_args()
    directory = Path(args.directory)
    directory.mkdir(parents=True, exist_ok=True)
    model = json.loads(Path(args.network).read_text())
    shutil.copy(args.network, directory / Path(args.network).name)
    rng = np.random.default_rng(SEED)
    tensors = {}
    for node in model["nodes"]:
        shape = weight_shape(node)
        if shape is None:
            continue
        fan_in = int(np.prod(shape[1:]))
        std = GAINS[node["name"]] / np.sqrt(fan_in)
        tensors[node["name"] + ".weight"] = rng.normal(0.0, std, size=shape).astype(np.float32)
    write_safetensors(directory / model["weights"], tensors)
    for p in args.rates:
        for n in args.samples:
            np.save(directory / f"{Path(args.network).stem}-input-p{p:g}-n{n}.npy", np.full([n, *model["input"]["shape"]], p, dtype=np.float32))


if __name__ == "__main__":
    main()
