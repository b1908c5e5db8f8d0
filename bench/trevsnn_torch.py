#!/ usr / bin / env python3
"""T-RevSNN for `bench/run trevsnn`: writes a model snnsim runs, and times the PyTorch reference on it.

usage: trevsnn_torch.py make DIR --timesteps T [--samples N] [--size S] [--seed K]
       trevsnn_torch.py run DIR --timesteps T --batch B [--threads N] [--input FILE.npy]

make: the tiny variant (channels [64, 128, 256, 384], kernel 3, 1000 classes) at S x S (224)
      with T columns, its tensors drawn as the golden fixtures draw theirs
      (tools/reference/make_trevsnn_fixtures.py: moderate spike rates at every neuron), saved
      under the official state_dict names in DIR/trevsnn-tiny-tT.safetensors with the network
      file DIR/trevsnn-tiny-tT.json, and N images of normal noise (as normalised images are) in
      DIR/input.npy.
run:  the reference (tools/reference/trevsnn_reference.py, written from the official code) in
      eval mode under torch.inference_mode() with torch.set_num_threads(N): one warm-up batch,
      then every sample of DIR/input.npy (or FILE.npy) in batches of B, timed (weights loaded beforehand, as
      snnsim's samples/s excludes loading). Prints one JSON line: wall_s, samples_per_s,
      peak_mb (this process's maximum resident set), torch_version, threads.
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
from make_trevsnn_fixtures import randomize_  # noqa: E402
from trevsnn_reference import TRevSNN  # noqa: E402

CHANNELS = [64, 128, 256, 384]
CLASSES = 1000


def model_name(timesteps):
    return f"trevsnn-tiny-t{timesteps}"


def build(timesteps):
    return TRevSNN(CHANNELS, timesteps, 3, CLASSES, dvs=False).eval()


def make(args):
    from safetensors.torch import save_file

    out = Path(args.directory)
    out.mkdir(parents=True, exist_ok=True)
    model = build(args.timesteps)
    randomize_(model, torch.Generator().manual_seed(args.seed), {})
#Shared modules appear under every column : each saved tensor needs its own storage.
    state = {
k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    name = model_name(args.timesteps)
    save_file(state, str(out / f"{name}.safetensors"))
    network = {"format": "snnsim-network", "version": 1, "kind": "layer_graph",
               "description": f"T-RevSNN tiny, T = {args.timesteps}, random weights (bench/trevsnn_torch.py)",
               "model": "trevsnn", "variant": "tiny", "timesteps": args.timesteps, "classes": CLASSES,
               "input": {"shape": [3, args.size, args.size]}, "weights": f"{name}.safetensors"}
    (out / f"{name}.json").write_text(json.dumps(network, indent=2) + "\n")
    images = out / "input.npy"
    if not images.exists():
        rng = np.random.default_rng(args.seed)
        np.save(images, rng.standard_normal((args.samples, 3, args.size, args.size), dtype=np.float32))


def run(args):
    torch.set_num_threads(args.threads)
    directory = Path(args.directory)
    from safetensors.torch import load_file

    model = build(args.timesteps)
    model.load_state_dict(load_file(str(directory / f"{model_name(args.timesteps)}.safetensors")))
    images = torch.from_numpy(np.load(args.input or directory / "input.npy"))
    with torch.inference_mode():
        model(images[: args.batch])
        start = time.perf_counter()
        for first in range(0, len(images), args.batch):
            model(images[first:first + args.batch])
        wall = time.perf_counter() - start
    print(json.dumps({"wall_s": wall, "samples_per_s": len(images) / wall,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
                      "torch_version": torch.__version__, "threads": args.threads}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["make", "run"])
    parser.add_argument("directory")
    parser.add_argument("--timesteps", type=int, default=4)
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--input")
    args = parser.parse_args()
    make(args) if args.command == "make" else run(args)


if __name__ == "__main__":
    main()
