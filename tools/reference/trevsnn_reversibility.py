#!/usr/bin/env python3
"""How T-RevSNN's inverse drifts with the number of columns T and the size of alpha.

usage: trevsnn_reversibility.py [--snnsim build/snnsim] [--samples 4]

For each T in 4, 8, 16, 32 and each range of |alpha| (alphas drawn uniformly in it, a quarter of
them negative), draws a model as the golden fixtures are drawn (channels [8, 16, 24, 32], 32 x 32
images, tools/reference/make_trevsnn_fixtures.py) with those alphas, and runs
`snnsim infer --check-reversible` on noise images: column 0's level states recomputed from column
T - 1's by T - 1 inverses. Prints a Markdown table of the largest relative error over the four
levels (max |error| / max |c|), the one docs/models/trevsnn.md shows. Needs torch, numpy and
safetensors (the venv of tools/reference).
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_trevsnn_fixtures import randomize_  # noqa: E402
from trevsnn_reference import TRevSNN  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent.parent
CHANNELS = [8, 16, 24, 32]
ALPHAS = [(0.5, 1.0), (0.1, 0.2), (0.01, 0.02), (0.001, 0.002)]
COLUMNS = [4, 8, 16, 32]


def column0_error(snnsim, directory, timesteps, low, high, samples):
    generator = torch.Generator().manual_seed(timesteps)
    model = TRevSNN(CHANNELS, timesteps, 3, 10, dvs=False)
    randomize_(model, generator, {})
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.split(".")[-1].startswith("alpha"):
                magnitude = low + (high - low) * torch.rand(param.shape, generator=generator)
                sign = torch.where(torch.rand(param.shape, generator=generator) < 0.25, -1.0, 1.0)
                param.copy_(magnitude * sign)
    weights = Path(directory) / f"t{timesteps}.safetensors"
    save_file({k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}, str(weights))
    network = Path(directory) / f"t{timesteps}.json"
    network.write_text(json.dumps({
        "format": "snnsim-network", "version": 1, "kind": "layer_graph", "model": "trevsnn",
        "variant": "tiny", "channels": CHANNELS, "timesteps": timesteps, "classes": 10,
        "input": {"shape": [3, 32, 32]}, "weights": weights.name}))
    images = Path(directory) / "input.npy"
    np.save(images, np.random.default_rng(0).standard_normal((samples, 3, 32, 32), dtype=np.float32))
    summary = Path(directory) / "summary.json"
    subprocess.run([snnsim, "infer", str(network), "--input", str(images), "--check-reversible", "-q",
                    "--summary-json", str(summary)], check=True)
    errors = json.loads(summary.read_text())["inversion_errors"][0]
    # JSON has no inf or NaN: snnsim writes null for a state that overflowed.
    return float("inf") if None in errors else max(errors)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--snnsim", default=str(ROOT / "build" / "snnsim"))
    parser.add_argument("--samples", type=int, default=4)

    args = parser.parse_args()
    print("| \\|alpha\\| | " + " | ".join(f"T = {t}" for t in COLUMNS) + " |")
    print("|---|" + "---|" * len(COLUMNS))
    with tempfile.TemporaryDirectory() as directory:
        for low, high in ALPHAS:
            errors = [column0_error(args.snnsim, directory, t, low, high, args.samples) for t in COLUMNS]
            cells = [f"{e:.1e}" if e < float("inf") else "overflow" for e in errors]
            print(f"| {low:g} to {high:g} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
