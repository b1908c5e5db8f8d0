"""Golden Spike-driven Transformer fixtures for snnsim, from spike_driven_reference.py.

Regenerate (torch, numpy, safetensors; CPU, deterministic):
  /work/venv-torch/bin/python tools/reference/make_spike_driven_fixtures.py [--out tests/data/spike_driven]
      [--only NAME ...]   (default: every fixture below)
Cross-check against the official code: tools/reference/check_spike_driven_official.py.

Fixtures (T 4, 3 input channels, 10 classes, embed_dims 32, 2 heads, mlp_ratio 4, batch 2, input N(0, 1)):
  sdt_cifar_d32_l2        depths 2, 32 x 32, pooling_stat "0011" (SPS 32 -> 32 -> 32 -> 16 -> 8: 64 tokens)
  sdt_cifar_d32_l1_p1111  depths 1, 64 x 64, pooling_stat "1111" (SPS 64 -> 32 -> 16 -> 8 -> 4: 16 tokens);
                          the max-pools after lif0 / lif1 / lif2 act on spikes, the 4th (as in both
                          fixtures) on the analog BatchNorm output before sps.lif3

Writes into the output directory, per fixture NAME:
  NAME.safetensors           the state_dict as the official SpikeDrivenTransformer saves it: every key,
                             incl. block.{j}.attn.talking_heads.weight (never used) and BatchNorm
                             num_batches_tracked (int64, 0); float32 otherwise
  NAME-input.npy             float32 [B, 3, H, W]
  NAME-expected.safetensors  eval mode: logits float32 [B, 10]; uint8 0/1 spikes, time-major:
                             sps.lif0..lif2 [T, B, C, H, W] (before the max-pool after them),
                             sps.lif3 [T, B, D, H', W'], block{j}.attn.{shortcut,q,k,v}_lif and
                             block{j}.mlp.fc1_lif [T, B, N, D] (token n = h * W' + w),
                             block{j}.attn.kv_lif [T, B, 1, D] (channel = head * D/heads + j),
                             block{j}.mlp.fc2_lif [T, B, N, hidden], head_lif [T, B, D]
  NAME-ties.json             per LIF: threshold, spike rate (overall and per timestep), the number of
                             charges H exactly equal to the threshold (they spike), the number within
                             1e-6 of it but not equal, the smallest nonzero |H - threshold|; the seed,
                             the calibration (per BatchNorm its bias shift) and the k/v channel roles
  NAME.json                  the snnsim network file

Weights: conv / linear weights N(0, 1/fan_in) (talking_heads too), biases N(0, 0.3^2). Each
BatchNorm, in forward order, gets running statistics from its actual input on the fixture input
(per-channel mean + 0.2 std noise, variance times U(0.6, 1.6)) and a random affine (weight
U(0.8, 1.6), about 10 % of channels negated; bias N(0.6, 0.3^2)); then one shift, added to its
biases, sets the mean rate of the one LIF it drives to about 20 % (bisection, then rounded to a
multiple of 1/64 and moved by 1/256 steps until every charge of that LIF is more than 1e-5 from its
threshold, exact ties included: bisection alone stops where a charge crosses the threshold):
  proj_bn / proj_bn1 / proj_bn2 / proj_bn3 -> sps.lif0..lif3 ; rpe_bn -> block0.attn.shortcut_lif ;
  q_bn / k_bn / v_bn -> q / k / v_lif ; attn.proj_bn -> mlp.fc1_lif ; mlp.fc1_bn -> mlp.fc2_lif ;
  mlp.fc2_bn of block j -> block{j+1}.attn.shortcut_lif, of the last block -> head_lif.
The residual stream is analog (membrane shortcuts), so shortcut_lif, fc1_lif and head_lif see sums
of all earlier branches; the shift of the last branch added sets their rate.
kv_lif (talking_heads_lif, threshold 0.5) gets the per-channel count over the N tokens of k AND v,
an integer, and spikes exactly where the count is >= 1 (a count of 1 is an exact tie: it spikes).
With k and v firing in every channel it would fire nearly everywhere, so each block's channels get
roles: a random quarter "both", the rest alternately "k only" / "v only", where the other of k / v
is silenced by a BatchNorm bias of -20 (it never fires in that channel). After k_bn and v_bn are
tuned on their "on" channels, one shift of the k_bn and v_bn biases of the "both" channels sets
kv_lif's mean rate to about 15 % (about 60 % of the "both" channels, so counts of 0, 1 (exact ties)
and more all occur), and k_bn / v_bn are tuned again on their own ("k only" / "v only") channels,
which do not reach kv_lif, back to 20 %. The ties json records kv_lif's count histogram.
The seed is drawn again until every LIF fires at 5-40 % at every timestep and no charge is within
1e-6 of a threshold without being exactly on it.
"""

import argparse
import json
import pathlib
import sys

import numpy as np
import torch
from safetensors.torch import save_file

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from spike_driven_reference import SpikeDrivenTransformer  # noqa: E402

BATCH = 2
NEAR_TOL = 1e-6
MAX_SEED_TRIES = 30
RATE_TARGET = 0.20  # mean rate the bias shift of each BatchNorm aims at
BN_BETA = 0.6  # mean of the drawn BatchNorm biases (before the shift)
BOTH_FRACTION = 0.25  # channels of a block where k and v both fire
OFF_BIAS = -20.0
KV_TARGET = 0.15  # mean rate of kv_lif (at most BOTH_FRACTION)
SHIFT_MARGIN = 1e-5  # the LIF a BatchNorm's shift drives: every charge at least this far from threshold

FIXTURES = {
    "sdt_cifar_d32_l2": dict(
        seed=20231001,
        config=dict(embed_dims=32, depths=2, num_heads=2, mlp_ratios=4, T=4, in_channels=3, classes=10,
                    img_size=32, pooling_stat="0011")),
    "sdt_cifar_d32_l1_p1111": dict(
        seed=20231101,
        config=dict(embed_dims=32, depths=1, num_heads=2, mlp_ratios=4, T=4, in_channels=3, classes=10,
                    img_size=64, pooling_stat="1111")),
}


def driven_lif(bn_name, depths):
    """The LIF whose rate the bias shift of BatchNorm `bn_name` sets (snnsim name)."""
    if bn_name.startswith("patch_embed."):
        return {"proj_bn": "sps.lif0", "proj_bn1": "sps.lif1", "proj_bn2": "sps.lif2", "proj_bn3": "sps.lif3",
                "rpe_bn": "block0.attn.shortcut_lif"}[bn_name.split(".")[1]]
    _, j, part, bn = bn_name.split(".")
    j = int(j)
    if part == "attn":
        return {"q_bn": f"block{j}.attn.q_lif", "k_bn": f"block{j}.attn.k_lif", "v_bn": f"block{j}.attn.v_lif",
                "proj_bn": f"block{j}.mlp.fc1_lif"}[bn]
    if bn == "fc1_bn":
        return f"block{j}.mlp.fc2_lif"
    return f"block{j + 1}.attn.shortcut_lif" if j + 1 < depths else "head_lif"


def kv_roles(c, gen):
    """Per channel: 'both', 'k' (v silenced) or 'v' (k silenced)."""
    perm = torch.randperm(c, generator=gen).tolist()
    n_both = max(1, round(BOTH_FRACTION * c))
    roles = [None] * c
    for i, ch in enumerate(perm):
        roles[ch] = "both" if i < n_both else ("k" if (i - n_both) % 2 == 0 else "v")
    return roles


@torch.no_grad()
def rates(model, x, name):
    s = model(x, return_spikes=True)[1][name]
    return [float(s[t].mean()) for t in range(s.shape[0])]


@torch.no_grad()
def tune_shift_(model, x, parts, lif_name, target=RATE_TARGET, margin=True):
    """Choose one shift s, added to bn.bias[mask] for every (bn, mask) in `parts`, so that `lif_name`
    fires at a mean rate of about `target`.

    Bisection on the mean rate, then s is rounded to a multiple of 1/64 (bisection alone would stop
    where a charge crosses the threshold, i.e. at a near tie) and, if `margin`, moved by steps of
    1/256 until no charge of that LIF lies within SHIFT_MARGIN of its threshold (exact ties included)."""
    bases = [bn.bias.clone() for bn, _ in parts]
    lif = dict(model.lif_nodes())[lif_name]

    def apply(s):
        for (bn, mask), base in zip(parts, bases):
            bn.bias.copy_(torch.where(mask, base + s, base))

    def mean_rate(s):
        apply(s)
        r = rates(model, x, lif_name)
        return sum(r) / len(r)

    lo, hi = -8.0, 8.0
    assert mean_rate(lo) < target < mean_rate(hi), lif_name
    for _ in range(14):
        mid = 0.5 * (lo + hi)
        if mean_rate(mid) < target:
            lo = mid
        else:
            hi = mid
    s0 = round(0.5 * (lo + hi) * 64) / 64
    if not margin:
        apply(s0)
        return s0
    for k in (0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6, 7, -7):
        s = s0 + k / 256
        apply(s)
        lif.record = True
        model(x)
        lif.record = False
        dist = float((lif.h_seq - lif.v_threshold).abs().min())
        lif.h_seq = None
        if dist > SHIFT_MARGIN:
            return s
    raise RuntimeError(f"{lif_name}: no shift near {s0} keeps every charge {SHIFT_MARGIN} from the threshold")


@torch.no_grad()
def build(seed, config):
    torch.manual_seed(seed)
    model = SpikeDrivenTransformer(**config).eval()
    gen = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(BATCH, config["in_channels"], config["img_size"], config["img_size"], generator=gen)

    for m in model.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Conv1d, torch.nn.Linear)):
            fan_in = m.weight[0].numel()
            m.weight.copy_(torch.randn(m.weight.shape, generator=gen) / fan_in ** 0.5)
            if m.bias is not None:
                m.bias.copy_(0.3 * torch.randn(m.bias.shape, generator=gen))
    roles = {j: kv_roles(config["embed_dims"], gen) for j in range(config["depths"])}

    calib = {}
    bns = [(n, m) for n, m in model.named_modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for name, bn in bns:
        captured = {}
        hook = bn.register_forward_pre_hook(lambda mod, inp: captured.__setitem__("x", inp[0]))
        model(x)
        hook.remove()
        inp = captured["x"]  # [TB, C, H, W]
        mean = inp.mean((0, 2, 3))
        std = inp.std((0, 2, 3)).clamp_min(1e-3)
        c = mean.numel()
        bn.running_mean.copy_(mean + 0.2 * std * torch.randn(c, generator=gen))
        bn.running_var.copy_(std ** 2 * (0.6 + torch.rand(c, generator=gen)))
        w = 0.8 + 0.8 * torch.rand(c, generator=gen)
        w[torch.rand(c, generator=gen) < 0.1] *= -1
        bn.weight.copy_(w)
        bn.bias.copy_(BN_BETA + 0.3 * torch.randn(c, generator=gen))
        bn.num_batches_tracked.fill_(0)
        lif = driven_lif(name, config["depths"])
        if not (name.endswith("attn.k_bn") or name.endswith("attn.v_bn")):
            calib[name] = dict(lif=lif, shift=tune_shift_(model, x, [(bn, torch.ones(c, dtype=torch.bool))], lif))
            continue
        j = int(name.split(".")[1])
        which = name.split(".")[-1][0]
        role = roles[j]
        on = torch.tensor([r in ("both", which) for r in role])
        bn.bias[~on] = OFF_BIAS
        calib[name] = dict(lif=lif, shift_on_channels=tune_shift_(model, x, [(bn, on)], lif))
        if which == "v":  # k and v are set: kv_lif, then k / v again on their own channels
            attn = model.block[j].attn
            both = torch.tensor([r == "both" for r in role])
            calib[f"block.{j}.attn.k_bn+v_bn"] = dict(
                lif=f"block{j}.attn.kv_lif", shift_both_channels=tune_shift_(
                    model, x, [(attn.k_bn, both), (attn.v_bn, both)], f"block{j}.attn.kv_lif", KV_TARGET, margin=False))
            for w_ in ("k", "v"):
                only = torch.tensor([r == w_ for r in role])
                calib[f"block.{j}.attn.{w_}_bn"]["shift_own_channels"] = tune_shift_(
                    model, x, [(getattr(attn, f"{w_}_bn"), only)], f"block{j}.attn.{w_}_lif")
    return model, x, calib, roles


@torch.no_grad()
def run(model, x):
    for _, lif in model.lif_nodes():
        lif.record = True
    logits, spikes = model(x, return_spikes=True)
    stats = {}
    for name, lif in model.lif_nodes():
        s = spikes[name]
        h = lif.h_seq
        th = lif.v_threshold
        d = (h - th).abs()
        stats[name] = dict(
            threshold=th,
            shape=list(s.shape),
            rate=float(s.mean()),
            rate_per_t=[float(s[t].mean()) for t in range(s.shape[0])],
            exact_ties=int((h == th).sum()),
            near_ties=int(((d <= NEAR_TOL) & (h != th)).sum()),
            min_nonzero_distance=float(d[d > 0].min()),
        )
        if name.endswith("kv_lif"):  # V is 0 before every step: H = count / 2, count = k AND v over N
            counts = (2 * h).round().long()
            assert torch.equal(counts.float() / 2, h)
            stats[name]["count_histogram"] = {int(v): int((counts == v).sum()) for v in counts.unique()}
        lif.record = False
        lif.h_seq = None
    return logits, spikes, stats


def check_roles(spikes, roles):
    """Silenced channels never fire; kv_lif fires only in 'both' channels."""
    for j, role in roles.items():
        for which in ("k", "v"):
            s = spikes[f"block{j}.attn.{which}_lif"]  # [T, B, N, C]
            off = torch.tensor([r not in ("both", which) for r in role])
            assert not s[..., off].any(), f"block{j} {which}_lif fires in a silenced channel"
        kv = spikes[f"block{j}.attn.kv_lif"]
        assert not kv[..., torch.tensor([r != "both" for r in role])].any()


def network_json(name, config, description):
    items = [("format", "snnsim-network"), ("version", 1), ("kind", "layer_graph"), ("description", description),
             ("model", "spike_driven_transformer"), ("variant", "cifar"), ("embed_dims", config["embed_dims"]),
             ("depths", config["depths"]), ("num_heads", config["num_heads"]), ("mlp_ratio", config["mlp_ratios"]),
             ("timesteps", config["T"]), ("classes", config["classes"]), ("pooling_stat", config["pooling_stat"]),
             ("input", {"shape": [config["in_channels"], config["img_size"], config["img_size"]]}),
             ("weights", f"{name}.safetensors")]
    return "{\n" + ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in items) + "\n}\n"


def make(out, name):
    spec = FIXTURES[name]
    config = spec["config"]
    for seed in range(spec["seed"], spec["seed"] + MAX_SEED_TRIES):
        model, x, calib, roles = build(seed, config)
        logits, spikes, stats = run(model, x)
        bad = [(n, [round(r, 3) for r in st["rate_per_t"]], st["near_ties"]) for n, st in stats.items()
               if min(st["rate_per_t"]) < 0.05 or max(st["rate_per_t"]) > 0.40 or st["near_ties"]]
        print(f"{name} seed {seed}: " + (f"rejected at {bad}" if bad else "accepted"), flush=True)
        if not bad:
            break
    else:
        raise SystemExit(f"{name}: no acceptable seed")
    check_roles(spikes, roles)
    # a second forward (every LIF from rest again) gives the same
    logits2, spikes2 = model(x, return_spikes=True)
    assert torch.equal(logits, logits2) and all(torch.equal(spikes[k], spikes2[k]) for k in spikes)

    for n, st in stats.items():
        rpt = " ".join(f"{r:.3f}" for r in st["rate_per_t"])
        print(f"  {n:26s} rate {st['rate']:.3f}  per t [{rpt}]  exact ties {st['exact_ties']:4d}  near "
              f"{st['near_ties']}  min |H-th| {st['min_nonzero_distance']:.2e}")
    print("  logits", logits.tolist())

    out.mkdir(parents=True, exist_ok=True)
    sd = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    save_file(sd, str(out / f"{name}.safetensors"))
    np.save(out / f"{name}-input.npy", x.numpy().astype(np.float32))
    expected = {"logits": logits.float().contiguous()}
    for n, s in spikes.items():
        expected[n] = s.to(torch.uint8).contiguous()
    save_file(expected, str(out / f"{name}-expected.safetensors"))
    meta = dict(name=name, seed=seed, batch=BATCH, config=config, near_tolerance=NEAR_TOL,
                rate_target=RATE_TARGET, bn_bias_shift=calib,
                kv_channel_roles={f"block{j}": r for j, r in roles.items()},
                lifs=stats, logits=logits.tolist())
    (out / f"{name}-ties.json").write_text(json.dumps(meta, indent=1) + "\n")
    desc = (f"Spike-driven Transformer (pooling_stat {config['pooling_stat']}, {config['img_size']} x "
            f"{config['img_size']}), with the sizes of the {name} golden fixture (seeded random weights)")
    (out / f"{name}.json").write_text(network_json(name, config, desc))
    for f in sorted(out.glob(f"{name}[.-]*")):
        print(f"  wrote {f.name} ({f.stat().st_size} bytes)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(pathlib.Path(__file__).resolve().parents[2] / "tests/data/spike_driven"))
    ap.add_argument("--only", nargs="+", choices=list(FIXTURES), default=list(FIXTURES))
    args = ap.parse_args()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    for name in args.only:
        make(pathlib.Path(args.out), name)


if __name__ == "__main__":
    main()
