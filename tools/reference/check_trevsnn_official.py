"""Cross-check of the T-RevSNN reference and fixtures against the official code.

Usage (torch, numpy, safetensors and timm 0.6.13, e.g. /work/venv-torch):
  python tools/reference/check_trevsnn_official.py OFFICIAL_REPO_DIR [--rev 3b75b37]
      [--fixtures tests/data/trevsnn]

OFFICIAL_REPO_DIR is a clone of github.com/BICLab/T-RevSNN (bare or not; the files are read
with `git show REV:models/...`) or a directory holding models/spike_modules.py,
models/rev_function.py and models/spike_rev_reuse.py. Those three files are copied into a
temporary directory (never into this repository) and imported from there as the package `models`.

Patches applied to the temporary copy (nothing else is changed):
  * models/__init__.py is an empty file. The official one imports models/build.py, whose
    factories pass arguments that tiny/small/tiny_dvs do not take (kind=, num_subnet=); the
    network is built here with FullNet(...) directly instead, as FullNet(channels, [1, 1, 1, 1],
    T, kernel_size, 10, save_memory=True, inter_supv=not dvs, dvs=dvs).
  * None to the model code: with torch 2.15 on the CPU the @torch.cuda.amp.custom_fwd decorators
    and torch.get_autocast_gpu_dtype() in rev_function.py only warn (deprecation); those
    warnings are silenced.

For every fixture (make_trevsnn_fixtures.py) this checks that:
  * the official FullNet's state_dict has the same keys, in the same order, with the same shapes
    and dtypes as the fixture's NAME.safetensors and as the reference's, and loads it strictly;
  * in eval mode, the official logits equal the reference's and the fixture's (max abs and
    relative difference printed), and the official stem output and level states c0..c3 after
    every column (captured with forward hooks) equal the fixture's x and c{l};
  * in training mode (batch statistics, Quant spikes), the official forward's heads equal the
    reference's forward_heads.
It exits 1 if any difference exceeds --tolerance (default 0: bit for bit).
"""

import argparse
import copy
import pathlib
import shutil
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import torch
from safetensors.torch import load_file

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_trevsnn_fixtures import CLASSES, FIXTURES  # noqa: E402
from trevsnn_reference import TRevSNN  # noqa: E402

OFFICIAL_FILES = ("spike_modules.py", "rev_function.py", "spike_rev_reuse.py")


def extract_official(repo_dir, rev, dest):
    """Copy the official model files into dest/models (from git if repo_dir is a repository)."""
    models = dest / "models"
    models.mkdir()
    (models / "__init__.py").write_text("")  # patch: the official one imports models.build
    source = repo_dir / "models"
    if (source / "spike_rev_reuse.py").is_file():
        for name in OFFICIAL_FILES:
            shutil.copy(source / name, models / name)
        return f"files in {source}"
    for name in OFFICIAL_FILES:
        text = subprocess.run(
            ["git", "-C", str(repo_dir), "show", f"{rev}:models/{name}"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        (models / name).write_text(text)
    commit = subprocess.run(
        ["git", "-C", str(repo_dir), "rev-parse", rev], check=True, capture_output=True, text=True
    ).stdout.strip()
    return f"git {repo_dir} at {commit}"


def diff(a, b):
    """(max abs difference, max abs difference / max |a|)."""
    d = (a.double() - b.double()).abs().max().item()
    scale = a.double().abs().max().item()
    return d, d / scale if scale else d


def capture_official(official, x, dvs, timesteps):
    """Official eval logits and, via hooks, its stem outputs and level states per column."""
    stems, states = [], []
    hooks = []
    stem_modules = list(official.stem) if dvs else [official.stem]
    for stem in stem_modules:
        hooks.append(stem.register_forward_hook(lambda m, a, out: stems.append(out[1])))
    for i in range(timesteps):
        subnet = getattr(official, f"subnet{i}")
        hooks.append(subnet.register_forward_hook(lambda m, a, out: states.append(out)))
    with torch.no_grad():
        logits = official(x)[-1]
    for hook in hooks:
        hook.remove()
    tensors = {"x": torch.stack(stems) if dvs else stems[0]}
    for l in range(4):
        tensors[f"c{l}"] = torch.stack([s[l].squeeze(0) for s in states])
    return logits, tensors


def check_fixture(name, config, fixtures, FullNet, tolerance):
    """Run all checks of one fixture; returns the largest difference seen."""
    t, dvs = config["timesteps"], config["dvs"]
    state = load_file(str(fixtures / f"{name}.safetensors"))
    expected = load_file(str(fixtures / f"{name}-expected.safetensors"))
    x = torch.from_numpy(np.load(fixtures / f"{name}-input.npy"))

    torch.manual_seed(0)
    official = FullNet(
        config["channels"],
        [1, 1, 1, 1],
        t,
        kernel_size=config["kernel_size"],
        num_classes=CLASSES,
        save_memory=True,
        inter_supv=not dvs,
        dvs=dvs,
    )
    reference = TRevSNN(config["channels"], t, config["kernel_size"], CLASSES, dvs)
    official_sd, reference_sd = official.state_dict(), reference.state_dict()
    layout = [(k, tuple(v.shape), v.dtype) for k, v in official_sd.items()]
    assert layout == [(k, tuple(v.shape), v.dtype) for k, v in reference_sd.items()], name
    assert sorted(layout) == sorted((k, tuple(v.shape), v.dtype) for k, v in state.items()), name
    official.load_state_dict(state, strict=True)
    reference.load_state_dict(state, strict=True)
    print(f"{name}: {len(state)} tensors, keys/order/shapes/dtypes identical to FullNet's")

    worst = 0.0
    official.eval()
    reference.eval()
    logits, states = capture_official(official, x, dvs, t)
    with torch.no_grad():
        ours = reference(x)
    rows = [("logits official vs reference", logits, ours)]
    rows.append(("logits official vs fixture", logits, expected["logits"]))
    rows += [(f"{k} official vs fixture", v, expected[k]) for k, v in states.items()]

    train_official, train_reference = copy.deepcopy(official).train(), reference.train()
    train_official.load_state_dict(state)
    train_reference.load_state_dict(state)
    with torch.no_grad():
        heads = train_official(x)
        our_heads = train_reference.forward_heads(x)
    assert len(heads) == len(our_heads), name
    rows += [
        (f"train head {h} official vs reference", a, b)
        for h, (a, b) in enumerate(zip(heads, our_heads))
    ]
    for label, a, b in rows:
        assert a.shape == b.shape, (label, a.shape, b.shape)
        d, rel = diff(a, b)
        worst = max(worst, d)
        flag = "" if d <= tolerance else "  <-- MISMATCH"
        print(f"  {label:40s} max abs {d:.3e}  rel {rel:.3e}{flag}")
    return worst


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("official_repo_dir", type=pathlib.Path)
    parser.add_argument("--rev", default="HEAD", help="git revision to read (default HEAD)")
    parser.add_argument(
        "--fixtures", type=pathlib.Path, default=HERE.parents[1] / "tests" / "data" / "trevsnn"
    )
    parser.add_argument("--tolerance", type=float, default=0.0)
    args = parser.parse_args()

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    with tempfile.TemporaryDirectory(prefix="trevsnn-official-") as tmp:
        origin = extract_official(args.official_repo_dir.resolve(), args.rev, pathlib.Path(tmp))
        print(f"official code: {origin}")
        sys.path.insert(0, tmp)
        from models.spike_rev_reuse import FullNet

        worst = max(
            check_fixture(name, config, args.fixtures, FullNet, args.tolerance)
            for name, config in FIXTURES.items()
        )
    print(f"largest difference: {worst:.3e} (tolerance {args.tolerance:g})")
    sys.exit(0 if worst <= args.tolerance else 1)


if __name__ == "__main__":
    main()
