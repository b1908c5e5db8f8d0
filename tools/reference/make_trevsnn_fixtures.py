"""Golden T-RevSNN fixtures for snnsim, from the PyTorch reference (trevsnn_reference.py).

Regenerate (torch, numpy, safetensors; the venv the reference was written with):
  /work/venv-torch/bin/python tools/reference/make_trevsnn_fixtures.py [--out tests/data/trevsnn]
      [--only NAME] [--dvs-size 32]

Fixtures (10 classes, 32x32 input; --dvs-size changes the DVS fixture's H = W: its stem keeps the
resolution, so at 32x32 its expected tensors take about 2.3 MB):
  rgb_t4_k3   RGB, channels [8, 16, 24, 32], T = 4, kernel 3, batch 2
  dvs_t4_k3   DVS, channels [8, 16, 24, 32], T = 4, kernel 3, batch 2, input [B, T, 2, H, W] of
              sparse event counts 0/1/2
  rgb_t8_k5   RGB, channels [8, 16, 16, 24], T = 8, kernel 5, batch 1

For each fixture NAME this writes, into the output directory:
  NAME.safetensors           the state_dict as the official FullNet would save it: every key,
                             including the shared BlockB tail repeated under every subnet{i}, the
                             training-only cls_blocks.0..2 (RGB) and BatchNorm num_batches_tracked
                             (int64); float32 otherwise. The alphas are stored before the model's
                             in-place |alpha| >= 1e-3 clamp: a loader must apply it.
  NAME-input.npy             float32, RGB [B, 3, 32, 32], DVS [B, T, 2, 32, 32]
  NAME-expected.safetensors  eval mode (spikes as uint8, the rest float32): logits [B, classes];
                             x (stem output, RGB
                             [B, C0, H, W], DVS [T, B, C0, H, W]); c{l} and s{l} = SN(c{l})
                             [T, B, C_l, H_l, W_l]; level{l}.block{b}.sn1 / .sn2 [T, B, ...] (SN of
                             the block input, SN after pwconv1, 4 C_l channels); head.sn, the head's
                             input spikes [B, C3, H3, W3] (for RGB equal to s3 of the last column)
  NAME-ties.json             the seed used and, for every SN input tensor, its spike rate, the
                             number of values within 1e-6 / 1e-5 / 1e-4 of the threshold 0.5 and
                             the smallest distance to it

Weights are random with non-trivial values (BatchNorm statistics and affine, gains, gamma, alphas
including negative ones, one alpha of magnitude below 1e-3 and one of exactly 0, both in columns
that use them), scaled so that every SN fires moderately. A fixture's seed is drawn again (seed + 1,
...) until no SN input lies within 1e-6 of 0.5 and no SN is silent or saturated in any column.
"""

import argparse
import json
import pathlib
import sys

import numpy as np
import torch
from safetensors.torch import save_file

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from trevsnn_reference import ScaledStdConv2d, TRevSNN  # noqa: E402

THRESHOLD = 0.5
TIE_TOLERANCES = (1e-6, 1e-5, 1e-4)
MAX_SEED_TRIES = 50

# Per fixture: architecture, input, first seed and the weight scales (see randomize_).
FIXTURES = {
    "rgb_t4_k3": dict(
        channels=[8, 16, 24, 32],
        timesteps=4,
        kernel_size=3,
        dvs=False,
        batch=2,
        size=32,
        seed=1000,
        scales=dict(),
    ),
    "dvs_t4_k3": dict(
        channels=[8, 16, 24, 32],
        timesteps=4,
        kernel_size=3,
        dvs=True,
        batch=2,
        size=32,
        seed=2000,
        scales=dict(pw2_gain=(1.0, 1.0, 1.0, 3.0)),
    ),
    "rgb_t8_k5": dict(
        channels=[8, 16, 16, 24],
        timesteps=8,
        kernel_size=5,
        dvs=False,
        batch=1,
        size=32,
        seed=3000,
        scales=dict(),
    ),
}
CLASSES = 10

# Default weight scales; a fixture's "scales" override them.
DEFAULT_SCALES = dict(
    stem_gain=1.0,  # ScaledStdConv2d gains of the stem, times U(0.5, 1.5)
    stem_bias=0.0,  # mean of the stem biases (std 0.2)
    pw1_gain=1.0,  # pwconv1 gains, times U(0.5, 1.5)
    pw1_bias=0.0,  # mean of the pwconv1 biases (std 0.2)
    pw2_gain=(1.0, 1.0, 1.0, 1.0),  # pwconv2 gains per level, times U(0.5, 1.5)
    dw_std=0.3,  # std of the depthwise conv weights
    dw_bias=0.1,  # std of the depthwise conv biases
    fusion_std=0.3,  # std of the fusion conv weights
    bn_bias=-0.1,  # mean of the fusion BatchNorm biases (std 0.2)
    gamma_lo=-0.3,  # gamma ~ U(gamma_lo, gamma_hi)
    gamma_hi=1.2,
    alpha_lo=-0.6,  # alpha ~ U(alpha_lo, alpha_hi)
    alpha_hi=0.9,
)


def uniform(gen, shape, lo, hi):
    """U(lo, hi) samples."""
    return lo + (hi - lo) * torch.rand(shape, generator=gen)


def randomize_(model, gen, scales):
    """Give every tensor of the model random non-trivial values (in place)."""
    s = dict(DEFAULT_SCALES, **scales)
    with torch.no_grad():
        for name, module in model.named_modules():
            if isinstance(module, ScaledStdConv2d):
                if name.startswith("stem"):
                    gain, bias = s["stem_gain"], s["stem_bias"]
                elif name.endswith("pwconv1"):
                    gain, bias = s["pw1_gain"], s["pw1_bias"]
                elif "pwconv2" in name:
                    gain, bias = s["pw2_gain"][int(name.split(".level")[1][0])], 0.0
                else:
                    gain, bias = 1.0, 0.0
                module.weight.normal_(generator=gen)
                module.gain.copy_(gain * uniform(gen, module.gain.shape, 0.5, 1.5))
                module.bias.normal_(bias, 0.2, generator=gen)
            elif isinstance(module, torch.nn.Conv2d) and module.groups > 1:
                module.weight.normal_(0.0, s["dw_std"], generator=gen)
                module.bias.normal_(0.0, s["dw_bias"], generator=gen)
            elif isinstance(module, torch.nn.Conv2d):
                module.weight.normal_(0.0, s["fusion_std"], generator=gen)
            elif isinstance(module, torch.nn.BatchNorm2d):
                n = module.num_features
                module.running_mean.normal_(0.0, 0.3, generator=gen)
                module.running_var.copy_(uniform(gen, n, 0.5, 2.0))
                module.weight.copy_(uniform(gen, n, 0.5, 1.5))
                module.bias.normal_(s["bn_bias"], 0.2, generator=gen)
                module.num_batches_tracked.fill_(int(torch.randint(1, 10000, (), generator=gen)))
        for name, param in model.named_parameters():
            if name.endswith("gamma"):
                param.copy_(uniform(gen, param.shape, s["gamma_lo"], s["gamma_hi"]))
            elif name.split(".")[-1].startswith("alpha"):
                param.copy_(uniform(gen, param.shape, s["alpha_lo"], s["alpha_hi"]))
        # Exercise the clamp: |alpha| < 1e-3 becomes +-1e-3, exactly 0 stays 0 (sign(0) = 0).
        model.subnet1.alpha1[0, 1] = 4e-4
        model.subnet2.alpha2[0, 0] = -3e-4
        model.subnet1.alpha0[0, 2] = 0.0


def make_input(config, gen):
    """RGB: N(0, 1) images [B, 3, H, W]; DVS: event counts [B, T, 2, H, W], P(0, 1, 2) =
    (0.85, 0.1, 0.05)."""
    b, size = config["batch"], config["size"]
    if not config["dvs"]:
        return torch.randn(b, 3, size, size, generator=gen)
    u = torch.rand(b, config["timesteps"], 2, size, size, generator=gen)
    return (u > 0.85).float() + (u > 0.95).float()


def sn_inputs(model, tensors):
    """The inputs of the level-state SNs and the head's SN, by the name of their spike tensor:
    s{l} <- c{l}, head.sn <- c3 of the head's column (DVS: c3 of the last column / T)."""
    inputs = {f"s{l}": tensors[f"c{l}"] for l in range(4)}
    last = model.head_columns()[3] if not model.dvs else model.timesteps - 1
    c3 = tensors["c3"][last]
    inputs["head.sn"] = c3 / model.timesteps if model.dvs else c3
    return inputs


def block_sn_inputs(model, x):
    """The inputs of every block's two SNs, [T, B, ...], captured with forward hooks."""
    captured = {}
    hooks = []
    for i, column in enumerate(model.columns()):
        for l in range(4):
            for b, block in enumerate(getattr(column, f"level{l}").blocks):
                name = f"level{l}.block{b}"

                def pre(module, args, name=name):
                    captured.setdefault(f"{name}.sn1", []).append(args[0].detach().clone())

                def post(module, args, output, name=name):
                    captured.setdefault(f"{name}.sn2", []).append(output.detach().clone())

                hooks.append(block.register_forward_pre_hook(pre))
                hooks.append(block.pwconv1.register_forward_hook(post))
    with torch.no_grad():
        model(x)
    for hook in hooks:
        hook.remove()
    return {name: torch.stack(values) for name, values in captured.items()}


def spike_report(model, x, tensors):
    """Per SN: rate, per-column extreme rates, tie counts and the smallest distance to 0.5."""
    inputs = sn_inputs(model, tensors)
    inputs.update(block_sn_inputs(model, x))
    report = {}
    for name, u in inputs.items():
        spikes = tensors[name]
        per_column = spikes.flatten(1).mean(1) if spikes.dim() == 5 else spikes.mean().reshape(1)
        distance = (u - THRESHOLD).abs()
        report[name] = dict(
            rate=round(spikes.mean().item(), 4),
            min_column_rate=round(per_column.min().item(), 4),
            max_column_rate=round(per_column.max().item(), 4),
            **{f"within_{tol:g}": int((distance <= tol).sum()) for tol in TIE_TOLERANCES},
            min_distance=float(distance.min()),
        )
    return report


def problems(report):
    """The SNs with a tie (within 1e-6 of 0.5) or silent or saturated in some column."""
    return [
        name
        for name, r in report.items()
        if r["within_1e-06"] or r["min_column_rate"] == 0 or r["max_column_rate"] == 1
    ]


def build(config, seed):
    """The randomized model (eval mode), its input, its outputs and their spike report."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = TRevSNN(
        config["channels"], config["timesteps"], config["kernel_size"], CLASSES, config["dvs"]
    ).eval()
    randomize_(model, gen, config["scales"])
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    x = make_input(config, gen)
    with torch.no_grad():
        logits, tensors = model(x, return_intermediates=True)
    report = spike_report(model, x, tensors)
    return state, x, logits, tensors, report


def write_fixture(out_dir, name, config):
    """Draw seeds until the fixture is acceptable, then write its four files."""
    for seed in range(config["seed"], config["seed"] + MAX_SEED_TRIES):
        state, x, logits, tensors, report = build(config, seed)
        rejected = problems(report)
        if not rejected:
            break
        print(f"{name}: seed {seed} rejected (a tie, or silent/saturated): {', '.join(rejected)}")
    else:
        raise SystemExit(f"{name}: no acceptable seed in {MAX_SEED_TRIES} tries")
    expected = {"logits": logits, **tensors}
    # Spikes (0/1) as uint8, a quarter of the bytes; logits, x and the states c{l} as float32.
    expected = {
        k: v.to(torch.float32 if k in ("logits", "x") or k[0] == "c" else torch.uint8).contiguous()
        for k, v in expected.items()
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    save_file(state, str(out_dir / f"{name}.safetensors"))
    np.save(out_dir / f"{name}-input.npy", x.numpy().astype(np.float32))
    save_file(expected, str(out_dir / f"{name}-expected.safetensors"))
    ties = dict(seed=seed, threshold=THRESHOLD, sn=report)
    (out_dir / f"{name}-ties.json").write_text(json.dumps(ties, indent=1) + "\n")
    print(f"{name}: seed {seed}, logits {logits.flatten()[:4].tolist()}...")
    for sn, r in report.items():
        print(
            f"  {sn:20s} rate {r['rate']:.3f} (columns {r['min_column_rate']:.3f}.."
            f"{r['max_column_rate']:.3f})  ties<=1e-6 {r['within_1e-06']}  <=1e-4 "
            f"{r['within_0.0001']}  min |u-0.5| {r['min_distance']:.2e}"
        )
    for path in sorted(out_dir.glob(f"{name}*")):
        print(f"  {path.name}: {path.stat().st_size} bytes")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_out = pathlib.Path(__file__).resolve().parents[2] / "tests" / "data" / "trevsnn"
    parser.add_argument("--out", type=pathlib.Path, default=default_out)
    parser.add_argument("--only", choices=sorted(FIXTURES), help="write one fixture only")
    parser.add_argument("--dvs-size", type=int, default=32, help="H = W of the DVS input")
    args = parser.parse_args()
    FIXTURES["dvs_t4_k3"]["size"] = args.dvs_size
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    for name, config in FIXTURES.items():
        if args.only in (None, name):
            write_fixture(args.out, name, config)


if __name__ == "__main__":
    main()
