"""Cross-check of the Spikformer reference and fixtures against the official code.

Usage (torch, numpy, safetensors, timm 0.6.13 and spikingjelly 0.0.0.0.12, e.g. /work/venv-torch
after `pip install spikingjelly==0.0.0.0.12`):
  python tools/reference/check_spikformer_official.py OFFICIAL_REPO_DIR [--rev HEAD]
      [--fixtures tests/data/spikformer] [--tolerance 0]

OFFICIAL_REPO_DIR is a clone of github.com/ZK-Zhou/spikformer (bare or not; the file is read with
`git show REV:cifar10/model.py`) or a directory holding cifar10/model.py. The file is copied into a
temporary directory (never into this repository) as spikformer_official.py and imported from there.

Patches applied to the temporary copy (nothing else is changed):
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
from spikformer_reference import Spikformer as RefSpikformer  # noqa: E402

NAME = "cifar_d32_l2"


def official_source(repo, rev):
    repo = pathlib.Path(repo)
    plain = repo / "cifar10" / "model.py"
    if plain.is_file():
        return plain.read_text()
    return subprocess.run(["git", "-C", str(repo), "show", f"{rev}:cifar10/model.py"], check=True,
                          capture_output=True, text=True).stdout


def patch(src):
    n = len(re.findall(r"backend='cupy'", src))
    if n == 0:
        raise SystemExit("patch failed: no backend='cupy' in cifar10/model.py")
    return src.replace("backend='cupy'", "backend='torch'"), n


def official_lif_path(name):
    """snnsim name -> official module path."""
    m = re.fullmatch(r"sps\.lif(\d)", name)
    if m:
        return "patch_embed.proj_lif" + ("" if m.group(1) == "0" else m.group(1))
    if name == "sps.rpe_lif":
        return "patch_embed.rpe_lif"
    m = re.fullmatch(r"block(\d+)\.(.*)", name)
    return f"block.{m.group(1)}.{m.group(2)}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("official_repo")
    ap.add_argument("--rev", default="HEAD")
    ap.add_argument("--fixtures", default=str(HERE.parents[1] / "tests/data/spikformer"))
    ap.add_argument("--tolerance", type=float, default=0.0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")

    src, n_patched = patch(official_source(args.official_repo, args.rev))
    tmp = tempfile.mkdtemp(prefix="spikformer_official_")
    (pathlib.Path(tmp) / "spikformer_official.py").write_text(src)
    sys.path.insert(0, tmp)
    import spikformer_official as off  # noqa: E402
    from spikingjelly.clock_driven import functional  # noqa: E402
    print(f"official cifar10/model.py ({args.rev}) copied to {tmp}; patched {n_patched} x backend='cupy' -> 'torch'")

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

    if failures:
        print("FAILED:", failures)
        sys.exit(1)
    print("OK: official == reference == fixture")


if __name__ == "__main__":
    main()
