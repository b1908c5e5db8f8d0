"""Cross-check of the Spike-driven Transformer reference and fixtures against the official code.

Usage (torch, numpy, safetensors, timm 0.6.13 and spikingjelly 0.0.0.0.12, e.g. /work/venv-torch):
  python tools/reference/check_spike_driven_official.py [OFFICIAL_REPO] [--rev HEAD]
      [--fixtures tests/data/spike_driven] [--only NAME ...] [--tolerance 0]

OFFICIAL_REPO (default /work/.mirror/BICLab+Spike-Driven-Transformer/repo) is a git repository of
github.com/BICLab/Spike-Driven-Transformer, bare or not: `git -C OFFICIAL_REPO archive REV` is
unpacked into a temporary directory (never into this repository), or a plain directory holding
model/ and module/ is copied there. Its model/ and module/ packages are imported from there.

Patches applied to the temporary copy (nothing else is changed):
  * backend="cupy" -> backend="torch" in every MultiStepLIFNode / MultiStepParametricLIFNode(...)
    of model/spikeformer.py, module/sps.py and module/ms_conv.py: the cupy backend needs CUDA; the
    torch backend runs the same charge / fire / reset per timestep on the CPU.
  * None else: the spikingjelly 0.0.0.0.12 (clock_driven.neuron) and timm 0.6.13 imports import as
    they are; model/__init__.py registers `sdt` in timm's registry on import; the model is built
    with SpikeDrivenTransformer(...) directly, with the arguments train.py passes to create_model
    (those that are None dropped, as timm's create_model does: patch_size keeps its default 16,
    attn_mode its default "direct_xor", which the forward never reads), spike_mode "lif",
    dvs_mode False, TET False, qkv_bias False, sr_ratios 1.

For each fixture (NAME.json gives the sizes) this checks that:
  * the official state_dict has the same keys, in the same order, shapes and dtypes as the
    reference's, the fixture's NAME.safetensors has the same set, and it loads strictly into both;
  * in eval mode, after spikingjelly functional.reset_net (the official LIFs keep V between
    calls), the official logits equal the reference's and the fixture's;
  * every official LIF output (forward hooks on the official modules, converted to snnsim's
    layouts) equals the fixture's uint8 spikes and the reference's; the official hook dict
    (forward(x, hook={})) agrees with the module hooks;
  * the official LIFs the forward never calls (rpe_lif, attn_lif) are not called;
  * a second official forward without reset_net differs (state carried over), and with reset_net
    reproduces the first;
  * with the reference's own seeded random weights (not a fixture's), official == reference too.
It exits 1 if any difference exceeds --tolerance (default 0: bit for bit).
"""

import argparse
import io
import json
import pathlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import warnings

import numpy as np
import torch
from safetensors.torch import load_file

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from spike_driven_reference import SpikeDrivenTransformer as RefSDT  # noqa: E402

MIRROR = "/work/.mirror/BICLab+Spike-Driven-Transformer/repo"
NAMES = ["sdt_cifar_d32_l2", "sdt_cifar_d32_l1_p1111"]
PATCHED = ["model/spikeformer.py", "module/sps.py", "module/ms_conv.py"]


def unpack_official(repo, rev, tmp):
    repo = pathlib.Path(repo)
    if (repo / "model" / "spikeformer.py").is_file():
        for d in ("model", "module"):
            shutil.copytree(repo / d, tmp / d)
        where = f"{repo} (plain directory)"
    else:
        data = subprocess.run(["git", "-C", str(repo), "archive", rev], check=True, capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(tmp, filter="data")
        commit = subprocess.run(["git", "-C", str(repo), "rev-parse", rev], check=True, capture_output=True,
                                text=True).stdout.strip()
        where = f"{repo} at {rev} = {commit}"
    counts = {}
    for rel in PATCHED:
        p = tmp / rel
        src = p.read_text()
        counts[rel] = src.count('backend="cupy"')
        if counts[rel] == 0:
            raise SystemExit(f"patch failed: no backend=\"cupy\" in {rel}")
        p.write_text(src.replace('backend="cupy"', 'backend="torch"'))
    return where, counts


def official_lif_path(name):
    """snnsim name -> official module path."""
    if name.startswith("sps.lif"):
        i = name[-1]
        return "patch_embed.proj_lif" + ("" if i == "0" else i)
    if name == "head_lif":
        return "head_lif"
    j, rest = name[len("block"):].split(".", 1)
    rest = rest.replace("attn.kv_lif", "attn.talking_heads_lif")
    return f"block.{j}.{rest}"


def official_hook_key(name):
    """snnsim name -> the key of the official forward's `hook` dict."""
    if name.startswith("sps.lif"):
        i = name[-1]
        return "MS_SPS_lif" + ("" if i == "0" else i)
    if name == "head_lif":
        return "head_lif"
    j, rest = name[len("block"):].split(".", 1)
    part, lif = rest.split(".")
    key = {"shortcut_lif": "first_lif", "kv_lif": "kv"}.get(lif, lif)
    return f"{'MS_SSA_Conv' if part == 'attn' else 'MS_MLP_Conv'}{j}_{key}"


def to_snnsim(name, o, heads):
    """An official LIF output -> snnsim's layout (see spike_driven_reference's docstring)."""
    if name.startswith("sps.") or name == "head_lif":
        return o
    if name.endswith("kv_lif"):  # [T, B, h, 1, d] -> [T, B, 1, h*d]
        T, B, h, _, d = o.shape
        assert h == heads
        return o.permute(0, 1, 3, 2, 4).reshape(T, B, 1, h * d)
    return o.flatten(3).transpose(-1, -2)  # [T, B, C, H, W] -> [T, B, N, C]


def build_official(off, cfg):
    return off.SpikeDrivenTransformer(
        T=cfg["timesteps"], num_heads=cfg["num_heads"], num_classes=cfg["classes"], pooling_stat=cfg["pooling_stat"],
        img_size_h=cfg["input"]["shape"][1], img_size_w=cfg["input"]["shape"][2], embed_dims=cfg["embed_dims"],
        mlp_ratios=cfg["mlp_ratio"], in_channels=cfg["input"]["shape"][0], qkv_bias=False, depths=cfg["depths"],
        sr_ratios=1, spike_mode="lif", dvs_mode=False, TET=False).eval()


def build_ref(cfg):
    return RefSDT(embed_dims=cfg["embed_dims"], depths=cfg["depths"], num_heads=cfg["num_heads"],
                  mlp_ratios=cfg["mlp_ratio"], T=cfg["timesteps"], in_channels=cfg["input"]["shape"][0],
                  classes=cfg["classes"], img_size=cfg["input"]["shape"][1], pooling_stat=cfg["pooling_stat"]).eval()


def compare(off, functional, cfg, sd, x, expected, tol, label):
    """Returns the list of failures."""
    failures = []
    official, ref = build_official(off, cfg), build_ref(cfg)
    osd, rsd = official.state_dict(), ref.state_dict()
    layout = lambda d: [(k, tuple(v.shape), v.dtype) for k, v in d.items()]  # noqa: E731
    same = layout(osd) == layout(rsd)
    fixture_same = sorted(layout(sd)) == sorted(layout(osd))
    print(f"[{label}] state_dict: {len(osd)} keys; official == reference (order, shape, dtype): {same}; "
          f"weights given have the same set: {fixture_same}")
    if not (same and fixture_same):
        failures.append(f"{label}: state_dict layout")
    official.load_state_dict(sd, strict=True)
    ref.load_state_dict(sd, strict=True)

    captured, calls, hooks = {}, {}, []
    for name, _ in ref.lif_nodes():
        mod = official.get_submodule(official_lif_path(name))
        hooks.append(mod.register_forward_hook(lambda m, i, o, name=name: captured.__setitem__(name, o.detach())))
    for path, mod in official.named_modules():
        if path.endswith("rpe_lif") or path.endswith("attn_lif"):
            hooks.append(mod.register_forward_hook(lambda m, i, o, path=path: calls.__setitem__(path, True)))
    with torch.no_grad():
        functional.reset_net(official)
        off_logits, off_hook = official(x, hook={})
        first = dict(captured)
        ref_logits, ref_spikes = ref(x, return_spikes=True)
        no_reset, _ = official(x)
        functional.reset_net(official)
        again, _ = official(x)
    for h in hooks:
        h.remove()
    if calls:
        failures.append(f"{label}: official called {sorted(calls)}")

    def report(what, a, b):
        d = float((a.double() - b.double()).abs().max())
        print(f"  {what:44s} max |diff| = {d:.3g}")
        if d > tol:
            failures.append(f"{label}: {what}")

    report("logits official vs reference", off_logits, ref_logits)
    if expected is not None:
        report("logits official vs fixture", off_logits, expected["logits"])
        report("logits reference vs fixture", ref_logits, expected["logits"])
    report("logits official, reset_net again vs first", again, off_logits)
    d_carry = float((no_reset - off_logits).abs().max())
    print(f"  {'logits official, 2nd call without reset_net':44s} max |diff| = {d_carry:.3g} (state carried over)")
    if d_carry == 0:
        failures.append(f"{label}: no state carried over between official calls?")

    print("  spikes: official LIF output (snnsim layout) vs fixture / vs reference: mismatching elements")
    for name, _ in ref.lif_nodes():
        o = to_snnsim(name, first[name], cfg["num_heads"])
        hk = off_hook[official_hook_key(name)]
        if not torch.equal(hk, first[name]):
            failures.append(f"{label}: {name} official hook dict != module output")
        r = ref_spikes[name]
        nr = int((o != r).sum()) if o.shape == r.shape else -1
        ne = "-"
        if expected is not None:
            e = expected[name]
            ne = int((o != e.to(o.dtype)).sum()) if o.shape == e.shape and e.dtype == torch.uint8 else -1
        print(f"    {name:26s} {str(list(o.shape)):22s} vs fixture {ne}  vs reference {nr}  rate {float(o.mean()):.3f}")
        if nr != 0 or (expected is not None and ne != 0):
            failures.append(f"{label}: {name}")
    if expected is not None:
        extra = set(expected) - {"logits"} - {n for n, _ in ref.lif_nodes()}
        if extra:
            failures.append(f"{label}: fixture has unchecked tensors {sorted(extra)}")
    return failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("official_repo", nargs="?", default=MIRROR)
    ap.add_argument("--rev", default="HEAD")
    ap.add_argument("--fixtures", default=str(HERE.parents[1] / "tests/data/spike_driven"))
    ap.add_argument("--only", nargs="+", choices=NAMES, default=NAMES)
    ap.add_argument("--tolerance", type=float, default=0.0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")

    tmp = pathlib.Path(tempfile.mkdtemp(prefix="spike_driven_official_"))
    where, counts = unpack_official(args.official_repo, args.rev, tmp)
    sys.path.insert(0, str(tmp))
    import model.spikeformer as off  # noqa: E402
    from spikingjelly.clock_driven import functional  # noqa: E402
    print(f"official code from {where}, unpacked in {tmp}; patched backend=\"cupy\" -> \"torch\": {counts}")

    failures = []
    fx = pathlib.Path(args.fixtures)
    for name in args.only:
        cfg = json.loads((fx / f"{name}.json").read_text())
        sd = load_file(str(fx / f"{name}.safetensors"))
        expected = load_file(str(fx / f"{name}-expected.safetensors"))
        x = torch.from_numpy(np.load(fx / f"{name}-input.npy"))
        failures += compare(off, functional, cfg, sd, x, expected, args.tolerance, name)

        # the reference's own random weights (BatchNorm statistics and affine drawn too), another input
        torch.manual_seed(7)
        ref = build_ref(cfg)
        with torch.no_grad():
            for m in ref.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    c = m.num_features
                    m.running_mean.copy_(0.5 * torch.randn(c))
                    m.running_var.copy_(0.2 + torch.rand(c))
                    m.weight.copy_(0.5 + torch.rand(c) * 2)
                    m.bias.copy_(0.5 + torch.randn(c))
                elif isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
                    m.weight.copy_(torch.randn(m.weight.shape) / m.weight[0].numel() ** 0.5)
        x2 = 2 * torch.randn(3, *cfg["input"]["shape"])
        failures += compare(off, functional, cfg, ref.state_dict(), x2, None, args.tolerance, f"{name}, random weights")

    if failures:
        print("FAILED:", failures)
        sys.exit(1)
    print("OK: official == reference == fixture, bit for bit")


if __name__ == "__main__":
    main()
