#!/usr/bin/env python3
"""PyTorch dense reference for `bench/run deep`: runs a snnsim layer-graph file with PyTorch.

usage: torch_deep_snn.py MODEL.json --rate P --batch B --samples N [--threads N] [--timesteps T]

Builds the network of MODEL.json (ops linear, conv2d, maxpool2d, avgpool2d, flatten, lif, if)
from its weights file (safetensors, read with NumPy) and runs it the way spikingjelly's
multi-step, layer-by-layer mode does: input spikes (torch.rand(T, B, ...) < P).float(), every
stateless layer applied to all T*B frames at once ([T*B, C, H, W]), every neuron layer a loop
over T of the LIF equations (H = V + (X - V)/tau, spike where H >= v_threshold, hard reset of V
to v_reset; IF: H = V + X). Under torch.inference_mode(), with torch.set_num_threads(threads).

Times N samples in batches of B after one warm-up batch (weight loading excluded; the drawing of
the input spikes is included, as snnsim's encoder is in its wall_s), counting the spikes of the
neuron layers on the way (one sum per layer and batch). Prints one JSON line:
wall_s, samples_per_s, firing_rates {layer: rate}, torch_version, threads.
"""
import argparse
import json
import os
import struct
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F


def read_safetensors(path):
    data = Path(path).read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", f"{name}: only F32 tensors are supported"
        begin, end = info["data_offsets"]
        array = np.frombuffer(data, dtype="<f4", count=(end - begin) // 4, offset=8 + length + begin)
        tensors[name] = torch.from_numpy(array.reshape(info["shape"]).copy())
    return tensors


def pair(value):
    return tuple(value) if isinstance(value, list) else (value, value)


class Network:
    def __init__(self, model_path, timesteps=None):
        model = json.loads(Path(model_path).read_text())
        self.timesteps = timesteps or model["timesteps"]
        self.input_shape = model["input"]["shape"]
        self.nodes = model["nodes"]
        weights = read_safetensors(Path(model_path).parent / model["weights"])
        self.params = {}
        for node in self.nodes:
            prefix = node.get("weights", node["name"])
            if node["op"] in ("linear", "conv2d"):
                self.params[node["name"]] = (weights[prefix + ".weight"], weights.get(prefix + ".bias"))
            elif node["op"] not in ("maxpool2d", "avgpool2d", "flatten", "lif", "if"):
                raise SystemExit(f"torch_deep_snn: op {node['op']} is not supported")

    def neuron(self, node, x, batch, spikes):
        """The multi-step neuron loop: x is [T*B, ...] of inputs, returns [T*B, ...] of spikes."""
        x = x.reshape(self.timesteps, batch, *x.shape[1:])
        v_threshold = node.get("v_threshold", 1.0)
        v_reset = node.get("v_reset", 0.0)
        tau = node.get("tau", 2.0)
        v = torch.full_like(x[0], 0.0 if v_reset is None else v_reset)
        out = torch.empty_like(x)
        for t in range(self.timesteps):
            if node["op"] == "lif":
                h = v + (x[t] - (v - (v_reset or 0.0))) / tau
            else:
                h = v + x[t]
            s = (h >= v_threshold).to(x.dtype)
            if v_reset is None:
                v = h - s * v_threshold
            else:
                v = h * (1.0 - s) + v_reset * s
            out[t] = s
        if spikes is not None:
            spikes[node["name"]] = spikes.get(node["name"], 0.0) + float(out.sum())
        return out.reshape(self.timesteps * batch, *x.shape[2:])

    def forward(self, rate, batch, spikes=None):
        x = (torch.rand(self.timesteps, batch, *self.input_shape) < rate).float()
        x = x.reshape(self.timesteps * batch, *self.input_shape)
        for node in self.nodes:
            op = node["op"]
            if op == "linear":
                x = F.linear(x, *self.params[node["name"]])
            elif op == "conv2d":
                weight, bias = self.params[node["name"]]
                x = F.conv2d(x, weight, bias, stride=pair(node.get("stride", 1)), padding=pair(node.get("padding", 0)),
                             groups=node.get("groups", 1))
            elif op in ("maxpool2d", "avgpool2d"):
                kernel = pair(node.get("kernel", 2))
                stride = pair(node.get("stride", node.get("kernel", 2)))
                pool = F.max_pool2d if op == "maxpool2d" else F.avg_pool2d
                x = pool(x, kernel, stride, pair(node.get("padding", 0)))
            elif op == "flatten":
                x = x.flatten(1)
            else:
                x = self.neuron(node, x, batch, spikes)
        # The prediction: the output layer's mean over timesteps, as snnsim infer reports it.
        return x.reshape(self.timesteps, batch, *x.shape[1:]).mean(0)

    def sizes(self, batch):
        """Elements per sample of each neuron layer's output."""
        with torch.inference_mode():
            counts = {}
            x = torch.zeros(self.timesteps * batch, *self.input_shape)
            for node in self.nodes:
                if node["op"] in ("lif", "if"):
                    counts[node["name"]] = x[0].numel()
                x = self._shape_step(node, x)
            return counts

    def _shape_step(self, node, x):
        op = node["op"]
        if op == "linear":
            return F.linear(x, *self.params[node["name"]])
        if op == "conv2d":
            weight, bias = self.params[node["name"]]
            return F.conv2d(x, weight, bias, stride=pair(node.get("stride", 1)), padding=pair(node.get("padding", 0)),
                            groups=node.get("groups", 1))
        if op in ("maxpool2d", "avgpool2d"):
            pool = F.max_pool2d if op == "maxpool2d" else F.avg_pool2d
            return pool(x, pair(node.get("kernel", 2)), pair(node.get("stride", node.get("kernel", 2))),
                        pair(node.get("padding", 0)))
        if op == "flatten":
            return x.flatten(1)
        return x


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--timesteps", type=int)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    network = Network(args.model, args.timesteps)
    batches = [min(args.batch, args.samples - start) for start in range(0, args.samples, args.batch)]
    with torch.inference_mode():
        network.forward(args.rate, args.batch)  # warm-up
        spikes = {}
        begin = time.perf_counter()
        for batch in batches:
            network.forward(args.rate, batch, spikes)
        wall_s = time.perf_counter() - begin
    sizes = network.sizes(1)
    rates = {name: spikes[name] / (sizes[name] * args.samples * network.timesteps) for name in spikes}
    print(json.dumps({"wall_s": wall_s, "samples_per_s": args.samples / wall_s, "firing_rates": rates,
                      "samples": args.samples, "batch": args.batch, "timesteps": network.timesteps,
                      "threads": args.threads, "torch_version": torch.__version__}))


if __name__ == "__main__":
    main()
