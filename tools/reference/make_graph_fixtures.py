#!/usr/bin/env python3
"""Golden fixtures for layer-graph operators, computed by an independent implementation.

PyTorch computes every layer (conv2d, batchnorm in eval mode, pooling, linear, layernorm, GELU,
softmax attention) and spikingjelly's multi-step LIFNode / IFNode is the reference LIF and IF
neuron. The neurons spikingjelly does not have (T-RevSNN's multi-level quantizer, SpikeLM's
elastic bi-spiking neuron, Spikformer's spiking self-attention) are written here in torch,
exactly as docs/neurons.md and docs/network-format.md state them. Everything runs in float32 on
the CPU, with fixed seeds.

For each fixture NAME it writes to tests/fixtures/graphs/:

  NAME.json          the layer-graph network file ("weights": "NAME.safetensors")
  NAME.safetensors   the weights, named as the graph's nodes expect
  NAME-input.npy     float32 [B, ...sample shape], B = 2
  NAME-output.npy    float32 [T, B, ...output shape]: the output node at every timestep
  NAME-spikes.npy    float32 [T, B, ...]: the first neuron layer's spikes (absent without one)

tests/graph_fixtures_test.cpp runs snnsim on each fixture and compares. The script checks that
every neuron layer fires at a moderate rate and that no membrane lies within MARGIN of a
decision boundary, so that the last-bit differences of another summation order cannot flip a
spike.

Regenerate (from the repository root):

  python3 -m venv bench/.venv-torch   # or let bench/run deep create it
  bench/.venv-torch/bin/python -m pip install torch spikingjelly safetensors
  bench/.venv-torch/bin/python tools/reference/make_graph_fixtures.py

The committed fixtures were produced with torch 2.15.0 (CPU), spikingjelly 2.0.0,
safetensors 0.8.0 and numpy 2.4.6.
"""

import json
import math
import pathlib
from importlib.metadata import version

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from spikingjelly.activation_based import neuron

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "graphs"
T = 4
B = 2
# No membrane may lie closer than this to a threshold or rounding boundary.
MARGIN = 1e-4


def seq(x):
    """The direct encoder: the sample at every timestep, [T, B, ...]."""
    return x.unsqueeze(0).repeat(T, *([1] * x.dim()))


def per_frame(f, x_seq):
    """Applies a stateless layer to every (timestep, sample) frame of [T, B, ...]."""
    y = f(x_seq.flatten(0, 1))
    return y.reshape(x_seq.shape[0], x_seq.shape[1], *y.shape[1:])


def lif_reference(x_seq, tau, v_threshold, v_reset, decay_input=True, leaky=True):
    """spikingjelly's multi-step LIFNode/IFNode, checked against docs/neurons.md.

    Returns the spikes and the smallest |H - v_threshold| over all steps."""
    if leaky:
        node = neuron.LIFNode(tau=float(tau), v_threshold=v_threshold, v_reset=v_reset,
                              decay_input=decay_input, step_mode="m")
    else:
        node = neuron.IFNode(v_threshold=v_threshold, v_reset=v_reset, step_mode="m")
    with torch.no_grad():
        spikes = node(x_seq.clone())
    # The equations of docs/neurons.md, in float32 and in their order of operations.
    reset = 0.0 if v_reset is None else v_reset
    v = torch.full_like(x_seq[0], reset)
    mine, margin = [], math.inf
    for t in range(x_seq.shape[0]):
        x = x_seq[t]
        if not leaky:
            h = v + x
        elif decay_input:
            h = v + (x - (v - reset)) / tau
        else:
            h = v - (v - reset) / tau + x
        s = (h >= v_threshold).to(torch.float32)
        margin = min(margin, (h - v_threshold).abs().min().item())
        v = torch.where(s > 0, torch.full_like(h, reset), h) if v_reset is not None \
            else h - s * v_threshold
        mine.append(s)
    assert torch.equal(torch.stack(mine), spikes), "spikingjelly disagrees with docs/neurons.md"
    return spikes, margin


def multilevel(u, levels):
    """T-RevSNN's Quant: round(clamp(u, 0, D)), rounding half to even."""
    clamped = torch.clamp(u, 0.0, float(levels))
    q = torch.round(clamped)
    inside = (u > 0) & (u < levels)
    frac = (clamped - torch.floor(clamped))[inside]
    margin = (frac - 0.5).abs().min().item() if inside.any() else math.inf
    return q, margin


def elastic_bispike(x_seq, alpha):
    """SpikeLM's elastic bi-spiking neuron as docs/neurons.md states it."""
    u_prev = s_prev = None
    spikes, margin = [], math.inf
    for t in range(x_seq.shape[0]):
        if t == 0:
            u = x_seq[0]
        else:
            u = 0.25 * (alpha[t - 1] - s_prev) * u_prev + x_seq[t]
        r = u / alpha[t]
        margin = min(margin, ((r.abs() - 0.5).abs()).min().item())
        q = torch.clamp(torch.round(r), -1.0, 1.0)
        s = alpha[t] * q
        spikes.append(s)
        u_prev, s_prev = u, s
    return torch.stack(spikes), margin


def spike_attention(q, k, v, heads, scale):
    """Spikformer's SSA per head: (Q K^T) V * scale, no softmax. [F, N, D] each."""
    d = q.shape[-1] // heads
    out = []
    for h in range(heads):
        sl = slice(h * d, (h + 1) * d)
        attn = q[..., sl] @ k[..., sl].transpose(-1, -2)
        out.append((attn @ v[..., sl]) * scale)
    return torch.cat(out, dim=-1)


def softmax_attention(q, k, v, heads, scale):
    d = q.shape[-1] // heads
    out = []
    for h in range(heads):
        sl = slice(h * d, (h + 1) * d)
        attn = torch.softmax((q[..., sl] @ k[..., sl].transpose(-1, -2)) * scale, dim=-1)
        out.append(attn @ v[..., sl])
    return torch.cat(out, dim=-1)


def rate(spikes):
    return (spikes != 0).to(torch.float32).mean().item()


def check(name, layer, spikes, margin):
    r = rate(spikes)
    print(f"  {name}/{layer}: firing rate {r:.3f}, margin {margin:.2e}")
    assert 0.10 <= r <= 0.50, f"{name}/{layer}: firing rate {r:.3f} outside [0.1, 0.5]"
    assert margin > MARGIN, f"{name}/{layer}: a membrane within {margin} of a boundary"


def uniform(shape, low, high, generator):
    return torch.rand(shape, generator=generator) * (high - low) + low


def write(name, nodes, input_shape, tensors, x, output, spikes, output_node=None,
          description=""):
    OUT.mkdir(parents=True, exist_ok=True)
    graph = {
        "format": "snnsim-network",
        "version": 1,
        "kind": "layer_graph",
        "description": description + " Golden fixture from tools/reference/make_graph_fixtures.py.",
        "timesteps": T,
        "input": {"shape": list(input_shape), "encoder": "direct"},
        "weights": f"{name}.safetensors",
        "nodes": nodes,
        "output": output_node or nodes[-1]["name"],
    }
    # One node per line, as in examples/*.json.
    lines = [f'  {json.dumps(k)}: {json.dumps(v)}' for k, v in graph.items() if k != "nodes"]
    body = ",\n".join(f"    {json.dumps(node)}" for node in nodes)
    lines.insert(len(lines) - 1, f'  "nodes": [\n{body}\n  ]')
    text = "{\n" + ",\n".join(lines) + "\n}"
    assert json.loads(text) == graph
    (OUT / f"{name}.json").write_text(text + "\n")
    save_file({k: v.detach().to(torch.float32).contiguous() for k, v in tensors.items()},
              str(OUT / f"{name}.safetensors"))
    np.save(OUT / f"{name}-input.npy", x.detach().numpy().astype(np.float32))
    np.save(OUT / f"{name}-output.npy", output.detach().numpy().astype(np.float32))
    if spikes is not None:
        np.save(OUT / f"{name}-spikes.npy", spikes.detach().numpy().astype(np.float32))
    for path in OUT.glob(f"{name}*"):
        path.chmod(0o644)  # safetensors writes its files owner-only
        assert path.stat().st_size < 50_000, f"{path} is too large"


def conv_lif():
    name = "conv_lif"
    g = torch.Generator().manual_seed(101)
    x = uniform((B, 2, 9, 9), 0.0, 1.0, g)
    w = {
        "conv.weight": uniform((6, 2, 3, 3), -0.5, 0.7, g),
        "conv.bias": uniform((6,), -0.1, 0.1, g),
        "bn.weight": uniform((6,), 0.6, 1.4, g),
        "bn.bias": uniform((6,), -0.2, 0.3, g),
        "bn.running_mean": uniform((6,), -0.3, 0.3, g),
        "bn.running_var": uniform((6,), 0.5, 1.5, g),
        "fc.weight": uniform((10, 24), -0.5, 0.5, g),
        "fc.bias": uniform((10,), -0.1, 0.1, g),
    }
    c = per_frame(lambda a: F.conv2d(a, w["conv.weight"], w["conv.bias"], stride=2, padding=1),
                  seq(x))
    bn = per_frame(lambda a: F.batch_norm(a, w["bn.running_mean"], w["bn.running_var"],
                                          w["bn.weight"], w["bn.bias"], training=False,
                                          eps=1e-5), c)
    s, margin = lif_reference(bn, 2.0, 1.0, 0.0)
    check(name, "lif", s, margin)
    pooled = per_frame(lambda a: F.max_pool2d(a, 2), s)
    out = per_frame(lambda a: F.linear(a.flatten(1), w["fc.weight"], w["fc.bias"]), pooled)
    nodes = [
        {"name": "conv", "op": "conv2d", "in_channels": 2, "out_channels": 6, "kernel": 3,
         "stride": 2, "padding": 1},
        {"name": "bn", "op": "batchnorm"},
        {"name": "lif", "op": "lif", "tau": 2.0, "v_threshold": 1.0, "v_reset": 0.0},
        {"name": "pool", "op": "maxpool2d", "kernel": 2},
        {"name": "flat", "op": "flatten"},
        {"name": "fc", "op": "linear", "in_features": 24, "out_features": 10},
    ]
    write(name, nodes, [2, 9, 9], w, x, out, s,
          description="conv2d stride 2 + BatchNorm (folded) + LIF + max pooling + linear.")


def depthwise_if():
    name = "depthwise_if"
    g = torch.Generator().manual_seed(202)
    x = uniform((B, 4, 6, 6), 0.0, 1.0, g)
    w = {
        "dw.weight": uniform((4, 1, 3, 3), -0.1, 0.35, g),
        "dw.bias": uniform((4,), -0.1, 0.1, g),
        "pw.weight": uniform((8, 4, 1, 1), -1.0, 1.0, g),
        "pw.bias": uniform((8,), -0.1, 0.1, g),
    }
    c = per_frame(lambda a: F.conv2d(a, w["dw.weight"], w["dw.bias"], padding=1, groups=4),
                  seq(x))
    s, margin = lif_reference(c, None, 1.0, None, leaky=False)
    check(name, "if", s, margin)
    pooled = per_frame(lambda a: F.avg_pool2d(a, 2), s)
    out = per_frame(lambda a: F.conv2d(a, w["pw.weight"], w["pw.bias"]), pooled)
    nodes = [
        {"name": "dw", "op": "conv2d", "in_channels": 4, "out_channels": 4, "kernel": 3,
         "padding": 1, "groups": 4},
        {"name": "if", "op": "if", "v_threshold": 1.0, "v_reset": None},
        {"name": "pool", "op": "avgpool2d", "kernel": 2},
        {"name": "pw", "op": "conv2d", "in_channels": 4, "out_channels": 8, "kernel": 1},
    ]
    write(name, nodes, [4, 6, 6], w, x, out, s,
          description="Depthwise conv2d + IF (soft reset) + average pooling + 1x1 conv2d.")


def lif_variants():
    name = "lif_variants"
    g = torch.Generator().manual_seed(303)
    x = uniform((B, 10), -1.0, 1.0, g)
    w = {
        "fc1.weight": uniform((16, 10), -0.5, 0.5, g),
        "fc1.bias": uniform((16,), 0.0, 0.4, g),
        "fc2.weight": uniform((5, 16), -0.5, 0.5, g),
        "fc2.bias": uniform((5,), -0.1, 0.1, g),
    }
    h = per_frame(lambda a: F.linear(a, w["fc1.weight"], w["fc1.bias"]), seq(x))
    s, margin = lif_reference(h, 3.0, 1.0, None, decay_input=False)
    check(name, "lif", s, margin)
    out = per_frame(lambda a: F.linear(a, w["fc2.weight"], w["fc2.bias"]), s)
    nodes = [
        {"name": "fc1", "op": "linear", "in_features": 10, "out_features": 16},
        {"name": "lif", "op": "lif", "tau": 3.0, "decay_input": False, "v_reset": None},
        {"name": "fc2", "op": "linear", "in_features": 16, "out_features": 5},
    ]
    write(name, nodes, [10], w, x, out, s,
          description="LIF with tau 3, no input decay and a soft reset.")


def threshold_levels():
    name = "threshold_levels"
    g = torch.Generator().manual_seed(407)
    x = uniform((B, 8), -1.0, 1.0, g)
    w = {
        "fc1.weight": uniform((12, 8), -2.5, 2.5, g),
        "fc1.bias": uniform((12,), 0.0, 1.0, g),
        "fc2.weight": uniform((3, 12), -0.5, 0.5, g),
        "fc2.bias": uniform((3,), -0.1, 0.1, g),
    }
    u = per_frame(lambda a: F.linear(a, w["fc1.weight"], w["fc1.bias"]), seq(x))
    s, margin = multilevel(u, 4)
    check(name, "quant", s, margin)
    print(f"    levels: {sorted(set(s.flatten().tolist()))}")
    out = per_frame(lambda a: F.linear(a, w["fc2.weight"], w["fc2.bias"]), s)
    nodes = [
        {"name": "fc1", "op": "linear", "in_features": 8, "out_features": 12},
        {"name": "quant", "op": "multilevel", "levels": 4},
        {"name": "fc2", "op": "linear", "in_features": 12, "out_features": 3},
    ]
    write(name, nodes, [8], w, x, out, s,
          description="T-RevSNN's multi-level quantizer round(clamp(u, 0, 4)).")


def ternary_spikelm():
    name = "ternary_spikelm"
    g = torch.Generator().manual_seed(505)
    x = uniform((B, 8), -1.0, 1.0, g)
    w = {
        "fc1.weight": uniform((12, 8), -0.8, 0.8, g),
        "fc1.bias": uniform((12,), -0.2, 0.2, g),
        "fc2.weight": uniform((4, 12), -0.5, 0.5, g),
        "fc2.bias": uniform((4,), -0.1, 0.1, g),
    }
    # The direct encoder repeats the sample; vary the drive over time through alpha.
    h = per_frame(lambda a: F.linear(a, w["fc1.weight"], w["fc1.bias"]), seq(x))
    # alpha_t = 2 mean|x_t| per timestep, computed once and frozen, scaled to vary with t.
    alpha = (2.0 * h.abs().mean(dim=(1, 2))) * torch.tensor([1.2, 1.0, 1.4, 1.1])
    w["bispike.alpha"] = alpha
    s, margin = elastic_bispike(h, alpha)
    check(name, "bispike", s, margin)
    print(f"    alpha: {alpha.tolist()}; +1: {(s > 0).sum().item()}, -1: {(s < 0).sum().item()}")
    out = per_frame(lambda a: F.linear(a, w["fc2.weight"], w["fc2.bias"]), s)
    nodes = [
        {"name": "fc1", "op": "linear", "in_features": 8, "out_features": 12},
        {"name": "bispike", "op": "elastic_bispike"},
        {"name": "fc2", "op": "linear", "in_features": 12, "out_features": 4},
    ]
    write(name, nodes, [8], w, x, out, s,
          description="SpikeLM's elastic bi-spiking neuron with a per-timestep alpha.")


def spikformer_block():
    name = "spikformer_block"
    g = torch.Generator().manual_seed(606)
    x = uniform((B, 6, 8), 0.0, 1.0, g)
    w = {}
    for p in ("q", "k", "v"):
        w[f"{p}.weight"] = uniform((8, 8), -0.25, 0.85, g)
        w[f"{p}.bias"] = uniform((8,), 0.15, 0.55, g)
    w["proj.weight"] = uniform((8, 8), -0.5, 0.5, g)
    w["proj.bias"] = uniform((8,), -0.1, 0.1, g)
    xs = seq(x)
    spikes = {}
    for p in ("q", "k", "v"):
        h = per_frame(lambda a: F.linear(a, w[f"{p}.weight"], w[f"{p}.bias"]), xs)
        spikes[p], margin = lif_reference(h, 2.0, 1.0, 0.0)
        check(name, f"{p}_lif", spikes[p], margin)
    attn = per_frame(lambda a: a, spike_attention(spikes["q"], spikes["k"], spikes["v"], 2,
                                                  0.125))
    s_attn, margin = lif_reference(attn, 2.0, 0.5, 0.0)
    # Attention values are multiples of 1/8, so H may equal the threshold exactly; both sides
    # compute it exactly, so only an inexact near-miss would be a problem.
    print(f"  {name}/attn_lif: firing rate {rate(s_attn):.3f}, margin {margin:.2e} (exact)")
    assert 0.10 <= rate(s_attn) <= 0.50
    out = per_frame(lambda a: F.linear(a, w["proj.weight"], w["proj.bias"]), s_attn)
    nodes = []
    for p in ("q", "k", "v"):
        nodes.append({"name": p, "op": "linear", "inputs": ["input"], "in_features": 8,
                      "out_features": 8})
        nodes.append({"name": f"{p}_lif", "op": "lif", "tau": 2.0, "v_threshold": 1.0,
                      "v_reset": 0.0})
    nodes += [
        {"name": "attn", "op": "spike_attention", "inputs": ["q_lif", "k_lif", "v_lif"],
         "heads": 2, "scale": 0.125},
        {"name": "attn_lif", "op": "lif", "tau": 2.0, "v_threshold": 0.5, "v_reset": 0.0},
        {"name": "proj", "op": "linear", "in_features": 8, "out_features": 8},
    ]
    write(name, nodes, [6, 8], w, x, out, spikes["q"],
          description="Spikformer's spiking self-attention block, 2 heads.")


def transformer_float():
    name = "transformer_float"
    g = torch.Generator().manual_seed(707)
    x = uniform((B, 5, 8), -1.0, 1.0, g)
    w = {
        "ln.weight": uniform((8,), 0.5, 1.5, g),
        "ln.bias": uniform((8,), -0.2, 0.2, g),
        "fc1.weight": uniform((16, 8), -0.5, 0.5, g),
        "fc1.bias": uniform((16,), -0.1, 0.1, g),
        "fc2.weight": uniform((8, 16), -0.5, 0.5, g),
        "fc2.bias": uniform((8,), -0.1, 0.1, g),
    }
    for p in ("q", "k", "v"):
        w[f"{p}.weight"] = uniform((8, 8), -0.6, 0.6, g)
        w[f"{p}.bias"] = uniform((8,), -0.1, 0.1, g)
    xs = seq(x)
    ln = per_frame(lambda a: F.layer_norm(a, (8,), w["ln.weight"], w["ln.bias"], eps=1e-5), xs)
    mlp = per_frame(lambda a: F.linear(F.gelu(F.linear(a, w["fc1.weight"], w["fc1.bias"])),
                                       w["fc2.weight"], w["fc2.bias"]), ln)
    q, k, v = (per_frame(lambda a: F.linear(a, w[f"{p}.weight"], w[f"{p}.bias"]), xs)
               for p in ("q", "k", "v"))
    attn = softmax_attention(q, k, v, 2, 1.0 / math.sqrt(4.0))
    out = mlp + attn
    nodes = [
        {"name": "ln", "op": "layernorm", "inputs": ["input"]},
        {"name": "fc1", "op": "linear", "in_features": 8, "out_features": 16},
        {"name": "gelu", "op": "gelu"},
        {"name": "fc2", "op": "linear", "in_features": 16, "out_features": 8},
        {"name": "q", "op": "linear", "inputs": ["input"], "in_features": 8, "out_features": 8},
        {"name": "k", "op": "linear", "inputs": ["input"], "in_features": 8, "out_features": 8},
        {"name": "v", "op": "linear", "inputs": ["input"], "in_features": 8, "out_features": 8},
        {"name": "attn", "op": "attention", "inputs": ["q", "k", "v"], "heads": 2},
        {"name": "sum", "op": "add", "inputs": ["fc2", "attn"]},
    ]
    print(f"  {name}: no neuron layer; |output| max {out.abs().max().item():.3f}")
    write(name, nodes, [5, 8], w, x, out, None,
          description="Float transformer block: LayerNorm + GELU MLP and softmax attention, added.")


def main():
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, spikingjelly {version('spikingjelly')}, "
          f"safetensors {version('safetensors')}, numpy {np.__version__}")
    for fixture in (conv_lif, depthwise_if, lif_variants, threshold_levels, ternary_spikelm,
                    spikformer_block, transformer_float):
        print(fixture.__name__)
        fixture()


if __name__ == "__main__":
    main()
