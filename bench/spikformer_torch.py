#!/usr/bin/env python3
"""Spikformer (ImageNet variant) with STATA token pruning: writes a model snnsim runs, and times the
PyTorch reference on it.

usage: spikformer_torch.py make DIR [--samples N] [--size S] [--keep-ratio R [R ...]] [--seed K]
                                    [--calibration-batch C] [--threads N]
       spikformer_torch.py run DIR --batch B [--threads N] [--keep-ratio R] [--size S] [--input FILE.npy]

make: Spikformer-8-384 (embed_dims 384, 8 blocks, 12 heads, mlp_ratio 4, T 4, 1000 classes; the
      official imagenet/model.py at S x S, 224 by default) with STATA's anchor tokens, its tensors
      drawn as the golden fixtures draw theirs (tools/reference/make_spikformer_fixtures.py
      randomize_: weights N(0, 1/fan_in), each BatchNorm calibrated in forward order on its real
      input so that every LIF fires at a moderate rate; here on C = 2 images of normal noise at
      S x S, with the anchor and no pruning), saved under the official state_dict names plus
      anchor.tokens in DIR/spikformer-8-384.safetensors. One network file per keep ratio R
      (default 1.0 and 0.7): DIR/spikformer-8-384-rR.json ("variant": "imagenet", token pruning
      "stata"/"drop" at blocks [2, 4, 6] with keep ratio R; R = 1.0 keeps every token and is the
      unpruned model with its anchor exactly). DIR/input.npy: N images of normal noise (as
      normalised images are), float32 [N, 3, S, S] (written again only if missing or of another
      shape). Calibration runs on torch's default threads (--threads N to set them); at 224 it
      takes about 3.5 CPU-minutes. The spike rates of every LIF on the calibration images, at each R, go to stderr
      (min and max over the LIFs of the per-timestep rates).
run:  the reference (tools/reference/spikformer_imagenet_reference.py, written from the official
      code and equal to it without pruning) at keep ratio R, in eval mode under
      torch.inference_mode() with torch.set_num_threads(N): one warm-up batch, then every sample
      of DIR/input.npy (or FILE.npy) in batches of B, timed (weights loaded beforehand, as
      snnsim's samples/s excludes loading). Prints one JSON line: wall_s, samples_per_s, peak_mb
      (this process's maximum resident set), torch_version, threads (and keep_ratio, batch,
      samples).
"""
import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools" / "reference"))
from make_spikformer_fixtures import IMAGENET_BETA, randomize_  # noqa: E402
from spikformer_imagenet_reference import Spikformer  # noqa: E402

EMBED_DIMS, DEPTHS, HEADS, MLP_RATIO, TIMESTEPS, CLASSES = 384, 8, 12, 4, 4, 1000
PRUNING_BLOCKS = [2, 4, 6]
NAME = f"spikformer-{DEPTHS}-{EMBED_DIMS}"


def token_pruning(keep_ratio):
    return {"blocks": PRUNING_BLOCKS, "keep_ratio": float(keep_ratio), "criterion": "stata", "pruned": "drop"}


def network_name(keep_ratio):
    return f"{NAME}-r{float(keep_ratio)}"


def build(size, keep_ratio):
    return Spikformer(embed_dims=EMBED_DIMS, depths=DEPTHS, num_heads=HEADS, mlp_ratios=MLP_RATIO, T=TIMESTEPS,
                      in_channels=3, classes=CLASSES, img_size=size, token_pruning=token_pruning(keep_ratio)).eval()


def rate_summary(model, x):
    """(min, max) over the LIFs of the per-timestep spike rates, the LIFs at those, tokens per block."""
    with torch.inference_mode():
        _, spikes = model(x, return_spikes=True)
    per_t = {name: [float(s[t].float().mean()) for t in range(s.shape[0])]
             for name, s in spikes.items() if name.endswith("_lif")}
    low = min(per_t, key=lambda n: min(per_t[n]))
    high = max(per_t, key=lambda n: max(per_t[n]))
    kept = {name: int(s.shape[1]) for name, s in spikes.items() if name.endswith(".keep")}
    return min(per_t[low]), low, max(per_t[high]), high, kept


def make(args):
    from safetensors.torch import save_file

    if args.threads:
        torch.set_num_threads(args.threads)  # otherwise torch's default (all cores)
    out = Path(args.directory)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    model = build(args.size, 1.0)
    gen = torch.Generator().manual_seed(args.seed)
    x = torch.randn(args.calibration_batch, 3, args.size, args.size, generator=gen)
    start = time.perf_counter()
    with torch.no_grad():
        randomize_(model, x, gen, IMAGENET_BETA)
    print(f"{NAME}: drew and calibrated on {args.calibration_batch} images at {args.size} x {args.size} in "
          f"{time.perf_counter() - start:.1f} s", file=sys.stderr)
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out / f"{NAME}.safetensors"))
    for r in args.keep_ratio:
        pruned = build(args.size, r)
        pruned.load_state_dict(state)
        lo, lo_name, hi, hi_name, kept = rate_summary(pruned, x)
        print(f"{network_name(r)}: spike rates per LIF and timestep {lo:.3f} ({lo_name}) to {hi:.3f} ({hi_name}); "
              f"tokens kept {kept}", file=sys.stderr)
        network = {"format": "snnsim-network", "version": 1, "kind": "layer_graph",
                   "description": (f"Spikformer-{DEPTHS}-{EMBED_DIMS}, ImageNet variant, STATA anchor tokens, "
                                   f"keep ratio {float(r)} at blocks {PRUNING_BLOCKS}, random weights "
                                   f"(bench/spikformer_torch.py)"),
                   "model": "spikformer", "variant": "imagenet", "embed_dims": EMBED_DIMS, "depths": DEPTHS,
                   "num_heads": HEADS, "mlp_ratio": MLP_RATIO, "timesteps": TIMESTEPS, "classes": CLASSES,
                   "input": {"shape": [3, args.size, args.size]}, "token_pruning": token_pruning(r),
                   "weights": f"{NAME}.safetensors"}
        (out / f"{network_name(r)}.json").write_text(json.dumps(network, indent=2) + "\n")
    images = out / "input.npy"
    shape = (args.samples, 3, args.size, args.size)
    if not images.exists() or np.load(images, mmap_mode="r").shape != shape:
        rng = np.random.default_rng(args.seed)
        np.save(images, rng.standard_normal(shape, dtype=np.float32))


def run(args):
    from safetensors.torch import load_file

    torch.set_num_threads(args.threads)
    directory = Path(args.directory)
    images = torch.from_numpy(np.load(args.input or directory / "input.npy"))
    model = build(args.size or images.shape[-1], args.keep_ratio[0])
    model.load_state_dict(load_file(str(directory / f"{NAME}.safetensors")))
    with torch.inference_mode():
        model(images[: args.batch])
        start = time.perf_counter()
        for first in range(0, len(images), args.batch):
            model(images[first:first + args.batch])
        wall = time.perf_counter() - start
    print(json.dumps({"wall_s": wall, "samples_per_s": len(images) / wall,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
                      "torch_version": torch.__version__, "threads": args.threads,
                      "keep_ratio": float(args.keep_ratio[0]), "batch": args.batch, "samples": len(images)}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["make", "run"])
    parser.add_argument("directory")
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--size", type=int, default=None, help="make: 224 by default; run: the inputs' size")
    parser.add_argument("--keep-ratio", type=float, nargs="+", default=None,
                        help="make: the network files to write (default 1.0 0.7); run: one ratio (default 1.0)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--calibration-batch", type=int, default=2)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None, help="make: torch's default; run: 1 by default")
    parser.add_argument("--input")
    args = parser.parse_args()
    if args.command == "make":
        args.size = args.size or 224
        args.keep_ratio = args.keep_ratio or [1.0, 0.7]
        make(args)
    else:
        args.keep_ratio = args.keep_ratio or [1.0]
        args.threads = args.threads or 1
        if len(args.keep_ratio) != 1:
            parser.error("run takes one --keep-ratio")
        run(args)


if __name__ == "__main__":
    main()
