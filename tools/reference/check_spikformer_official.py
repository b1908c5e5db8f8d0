"""Cross-check of the Spikformer references and fixtures against the official code.

Usage (torch, numpy, safetensors, timm 0.6.13 and spikingjelly 0.0.0.0.12, e.g. /work/venv-torch
after `pip install spikingjelly==0.0.0.0.12`):
  python tools/reference/check_spikformer_official.py OFFICIAL_REPO_DIR [--rev HEAD]
      [--fixtures tests/data/spikformer] [--tolerance 0] [--variants cifar imagenet]

OFFICIAL_REPO_DIR is a clone of github.com/ZK-Zhou/spikformer (bare or not; the files are read with
`git show REV:cifar10/model.py` and `git show REV:imagenet/model.py`) or a directory holding them.
Each file is copied into a temporary directory (never into this repository), as
spikformer_official.py and spikformer_official_imagenet.py, and imported from there.

Variant cifar (spikformer_reference.py, fixture cifar_d32_l2). Patches applied to the temporary
copy (nothing else is changed):
  * backend='cupy' -> backend='torch' in every MultiStepLIFNode(...) (12 occurrences in the source; 19
    nodes at depth 2): the cupy
    backend needs CUDA; the torch backend runs the same charge / fire / reset per timestep on the CPU.
  * None else: `from spikingjelly.clock_driven.neuron import MultiStepLIFNode` (0.0.0.0.12 API) and
    the timm 0.6.13 imports (timm.models.layers, registry.register_model, vision_transformer._cfg)
    import as they are. The `spikformer` factory registers itself in timm's registry on import;
    the model is built with Spikformer(...) directly.

The official Spikformer is built as train.py builds it for CIFAR (cifar10.yml), with the fixture's
sizes: Spikformer(img_size_h=32, img_size_w=32, patch_size=4, in_channels=3, num_classes=10,
embed_dims=32, num_heads=2, mlp_ratios=4, qkv_bias=False, depths=2, sr_ratios=1, T=4).

For the fixture this checks that:
  * the official state_dict has the same keys, in the same order, shapes and dtypes as the fixture's
    NAME.safetensors and the reference's, and loads it strictly;
  * in eval mode, after spikingjelly functional.reset_net (the official LIFs keep V between
    calls), the official logits equal the reference's and the fixture's (max abs difference);
  * the official LIF outputs (forward hooks) equal the fixture's spike tensors, in snnsim's names
    (tokens as [T, B, N, C]);
  * a second official forward without reset_net differs (state carried between calls), and with
    reset_net reproduces the first.
Variant imagenet (spikformer_imagenet_reference.py, fixtures imagenet_d32_l2 and
imagenet_stata_d32_l3). The same patch (backend='cupy' -> 'torch', 12 occurrences; 19 nodes at
depth 2), the same imports. The official model is built as imagenet/train.py builds it through the
registered `spikformer` factory, with the fixture's sizes: Spikformer(img_size_h=128,
img_size_w=128, patch_size=16, in_channels=3, num_classes=10, embed_dims=32, num_heads=2,
mlp_ratios=4, qkv_bias=False, depths=2, sr_ratios=1) (norm_layer left at nn.LayerNorm: the
factory's eps=1e-6 only matters to the LayerNorms, which are never called). Its forward repeats
the image T = 4 times (hard-coded), as the fixture's T. Checked as for CIFAR: state_dict layout
(official == reference, fixture the same set), logits, and every LIF output against the fixture
and the reference in snnsim's layouts (SPS LIFs [T, B, C, H, W] as the official ones; the block
LIFs' official [T, B, C, N] or [T, B, C, H', W'] outputs as tokens [T, B, N, C]), reset_net.
The official code has no token pruning: for imagenet_stata_d32_l3 it checks that the fixture's
state_dict is the official one plus `anchor.tokens`, and that, with the anchor left out, the
official model and the reference without token pruning give identical logits and LIF outputs on
the fixture's weights and input (3 blocks).
It exits 1 if any difference exceeds --tolerance (default 0: bit for bit).
"""

import argparse
import pathlib
import re
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import torch
from safetensors.torch import load_file

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from spikformer_imagenet_reference import Spikformer as RefImageNetSpikformer  # noqa: E402
from spikformer_reference import Spikformer as RefSpikformer  # noqa: E402

NAME = "cifar_d32_l2"
IMAGENET_NAMES = ("imagenet_d32_l2", "imagenet_stata_d32_l3")


def official_source(repo, rev, path="cifar10/model.py"):
    repo = pathlib.Path(repo)
    plain = repo / path
    if plain.is_file():
        return plain.read_text()
    return subprocess.run(["git", "-C", str(repo), "show", f"{rev}:{path}"], check=True,
                          capture_output=True, text=True).stdout


def patch(src, path="cifar10/model.py"):
    n = len(re.findall(r"backend='cupy'", src))
    if n == 0:
        raise SystemExit(f"patch failed: no backend='cupy' in {path}")
    return src.replace("backend='cupy'", "backend='torch'"), n


def import_official(repo, rev, path, module, tmp):
    """Copies `path` of the official repository into tmp as `module`.py (patched) and imports it."""
    src, n_patched = patch(official_source(repo, rev, path), path)
    (pathlib.Path(tmp) / f"{module}.py").write_text(src)
    if tmp not in sys.path:
        sys.path.insert(0, tmp)
    mod = __import__(module)
    print(f"official {path} ({rev}) copied to {tmp}/{module}.py; patched {n_patched} x backend='cupy' -> 'torch'")
    return mod


def official_lif_path(name):
    """snnsim name -> official module path."""
    m = re.fullmatch(r"sps\.lif(\d)", name)
    if m:
        return "patch_embed.proj_lif" + ("" if m.group(1) == "0" else m.group(1))
    if name == "sps.rpe_lif":
        return "patch_embed.rpe_lif"
    m = re.fullmatch(r"block(\d+)\.(.*)", name)
    return f"block.{m.group(1)}.{m.group(2)}"


def check_cifar(args, tmp):
    """The CIFAR variant; returns the names of the checks that failed."""
    off = import_official(args.official_repo, args.rev, "cifar10/model.py", "spikformer_official", tmp)
    from spikingjelly.clock_driven import functional  # noqa: E402

    fx = pathlib.Path(args.fixtures)
    sd = load_file(str(fx / f"{NAME}.safetensors"))
    expected = load_file(str(fx / f"{NAME}-expected.safetensors"))
    x = torch.from_numpy(np.load(fx / f"{NAME}-input.npy"))

    official = off.Spikformer(img_size_h=32, img_size_w=32, patch_size=4, in_channels=3, num_classes=10,
                              embed_dims=32, num_heads=2, mlp_ratios=4, qkv_bias=False, depths=2,
                              sr_ratios=1, T=4).eval()
    ref = RefSpikformer(embed_dims=32, depths=2, num_heads=2, mlp_ratios=4, T=4, in_channels=3,
                        classes=10, img_size=32).eval()
    failures = []

    osd, rsd = official.state_dict(), ref.state_dict()
    layout = lambda d: [(k, tuple(v.shape), v.dtype) for k, v in d.items()]  # noqa: E731
    same_keys = layout(osd) == layout(rsd)
    fixture_keys = sorted(layout(sd)) == sorted(layout(osd))
    print(f"state_dict: {len(osd)} keys; official == reference (order, shape, dtype): {same_keys}; "
          f"fixture has the same set: {fixture_keys}")
    if not (same_keys and fixture_keys):
        failures.append("state_dict layout")
    official.load_state_dict(sd, strict=True)
    ref.load_state_dict(sd, strict=True)

    captured = {}
    hooks = []
    for name, _ in ref.lif_nodes():
        mod = official.get_submodule(official_lif_path(name))
        hooks.append(mod.register_forward_hook(lambda m, i, o, name=name: captured.__setitem__(name, o.detach())))

    with torch.no_grad():
        functional.reset_net(official)
        off_logits = official(x)
        ref_logits, ref_spikes = ref(x, return_spikes=True)
        first = dict(captured)
        no_reset = official(x)
        functional.reset_net(official)
        again = official(x)
    for h in hooks:
        h.remove()

    def report(label, a, b):
        d = float((a.double() - b.double()).abs().max())
        print(f"  {label:40s} max |diff| = {d:.3g}")
        if d > args.tolerance:
            failures.append(label)

    print("eval-mode logits:")
    report("official vs reference", off_logits, ref_logits)
    report("official vs fixture", off_logits, expected["logits"])
    report("reference vs fixture", ref_logits, expected["logits"])
    report("official, reset_net again vs first", again, off_logits)
    d_carry = float((no_reset - off_logits).abs().max())
    print(f"  {'official, 2nd call without reset_net':40s} max |diff| = {d_carry:.3g} (state carried over)")

    print("spikes (official LIF outputs vs fixture, vs reference): mismatching elements")
    for name, _ in ref.lif_nodes():
        o = o_cmp = first[name]  # official token tensors are already [T, B, N, C]
        e = expected[name].to(o.dtype)
        r = ref_spikes[name]
        ne = int((o_cmp != e).sum()) if o_cmp.shape == e.shape else -1
        nr = int((o_cmp != r).sum()) if o_cmp.shape == r.shape else -1
        print(f"  {name:22s} {list(o.shape)}  vs fixture {ne}  vs reference {nr}  rate {float(o.mean()):.3f}")
        if ne != 0 or nr != 0:
            failures.append(name)

    return failures


def official_tokens(name, o):
    """An official ImageNet LIF output in snnsim's layout: block LIFs [T, B, C, N] or
    [T, B, C, H', W'] -> tokens [T, B, N, C]; SPS LIFs as they are ([T, B, C, H, W])."""
    return o.flatten(3).transpose(-1, -2) if name.startswith("block") else o


def compare_imagenet(label, official, ref, x, expected, functional, report, failures):
    """Official vs reference (vs fixture `expected`, if given): logits and every LIF output."""
    captured = {}
    hooks = []
    for name, _ in ref.lif_nodes():
        mod = official.get_submodule(official_lif_path(name))
        hooks.append(mod.register_forward_hook(lambda m, i, o, name=name: captured.__setitem__(name, o.detach())))
    with torch.no_grad():
        functional.reset_net(official)
        off_logits = official(x)
        ref_logits, ref_spikes = ref(x, return_spikes=True)
        first = dict(captured)
        no_reset = official(x)
        functional.reset_net(official)
        again = official(x)
    for h in hooks:
        h.remove()
    print(f"{label}: eval-mode logits:")
    report("official vs reference", off_logits, ref_logits)
    if expected is not None:
        report("official vs fixture", off_logits, expected["logits"])
        report("reference vs fixture", ref_logits, expected["logits"])
    report("official, reset_net again vs first", again, off_logits)
    d_carry = float((no_reset - off_logits).abs().max())
    print(f"  {'official, 2nd call without reset_net':40s} max |diff| = {d_carry:.3g} (state carried over)")
    print(f"{label}: spikes (official LIF outputs in snnsim's layouts vs fixture, vs reference): mismatching elements")
    for name, _ in ref.lif_nodes():
        o = official_tokens(name, first[name])
        r = ref_spikes[name]
        nr = int((o != r).sum()) if o.shape == r.shape else -1
        ne = 0
        if expected is not None:
            e = expected[name].to(o.dtype)
            ne = int((o != e).sum()) if o.shape == e.shape else -1
        print(f"  {name:22s} {list(o.shape)}  vs fixture {ne if expected is not None else '-'}  vs reference {nr}  "
              f"rate {float(o.mean()):.3f}")
        if ne != 0 or nr != 0:
            failures.append(f"{label} {name}")


def check_imagenet(args, tmp):
    """The ImageNet variant; returns the names of the checks that failed."""
    off = import_official(args.official_repo, args.rev, "imagenet/model.py", "spikformer_official_imagenet", tmp)
    from spikingjelly.clock_driven import functional  # noqa: E402

    fx = pathlib.Path(args.fixtures)
    failures = []

    def report(label, a, b):
        d = float((a.double() - b.double()).abs().max())
        print(f"  {label:40s} max |diff| = {d:.3g}")
        if d > args.tolerance:
            failures.append(f"imagenet {label}")

    layout = lambda d: [(k, tuple(v.shape), v.dtype) for k, v in d.items()]  # noqa: E731
    for name in IMAGENET_NAMES:
        sd = load_file(str(fx / f"{name}.safetensors"))
        expected = load_file(str(fx / f"{name}-expected.safetensors"))
        x = torch.from_numpy(np.load(fx / f"{name}-input.npy"))
        depths = 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("block."))
        official = off.Spikformer(img_size_h=128, img_size_w=128, patch_size=16, in_channels=3, num_classes=10,
                                  embed_dims=32, num_heads=2, mlp_ratios=4, qkv_bias=False, depths=depths,
                                  sr_ratios=1).eval()
        ref = RefImageNetSpikformer(embed_dims=32, depths=depths, num_heads=2, mlp_ratios=4, T=4, in_channels=3,
                                    classes=10, img_size=128).eval()
        osd, rsd = official.state_dict(), ref.state_dict()
        same_keys = layout(osd) == layout(rsd)
        pruned = "anchor.tokens" in sd
        plain = {k: v for k, v in sd.items() if k != "anchor.tokens"}
        fixture_keys = sorted(layout(plain)) == sorted(layout(osd))
        print(f"{name}: state_dict: {len(osd)} keys; official == reference (order, shape, dtype): {same_keys}; "
              f"fixture has the same set{' plus anchor.tokens' if pruned else ''}: {fixture_keys}")
        if not (same_keys and fixture_keys):
            failures.append(f"{name} state_dict layout")
        if pruned:
            tp_ref = RefImageNetSpikformer(embed_dims=32, depths=depths, num_heads=2, mlp_ratios=4, T=4,
                                           in_channels=3, classes=10, img_size=128,
                                           token_pruning={"blocks": []}).eval()
            if sorted(layout(tp_ref.state_dict())) != sorted(layout(sd)):
                print(f"{name}: the reference with token pruning saves another layout than the fixture's")
                failures.append(f"{name} anchored state_dict layout")
        official.load_state_dict(plain, strict=True)
        ref.load_state_dict(plain, strict=True)
        # the pruned fixture's spikes come from another (anchored, pruned) model: official vs reference only
        compare_imagenet(name + (" without its anchor and pruning" if pruned else ""), official, ref, x,
                         None if pruned else expected, functional, report, failures)
    return failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("official_repo")
    ap.add_argument("--rev", default="HEAD")
    ap.add_argument("--fixtures", default=str(HERE.parents[1] / "tests/data/spikformer"))
    ap.add_argument("--tolerance", type=float, default=0.0)
    ap.add_argument("--variants", nargs="+", choices=["cifar", "imagenet"], default=["cifar", "imagenet"])
    args = ap.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    tmp = tempfile.mkdtemp(prefix="spikformer_official_")
    failures = []
    if "cifar" in args.variants:
        failures += check_cifar(args, tmp)
    if "imagenet" in args.variants:
        failures += check_imagenet(args, tmp)
    if failures:
        print("FAILED:", failures)
        sys.exit(1)
    print(f"OK ({', '.join(args.variants)}): official == reference == fixture")


if __name__ == "__main__":
    main()
