#!/usr/bin/env python3
"""SpikeLM at BERT-base shape: writes a model snnsim runs, and times the PyTorch reference on it.

usage: spikelm_torch.py make DIR [--samples N] [--length L] [--seed K] [--small]
       spikelm_torch.py run DIR --batch B [--threads N] [--input FILE.npy] [--compare OUT.npy]

make: SpikeLM-base (12 layers, hidden 768, 12 heads, FFN 3072, T 4, 30522 tokens; the official
      run_pretrain.py configuration, tools/reference/spikelm_reference.py) with BERT's initialisation
      (the official _init_weights: N(0, 0.02) weights, zero biases) and every alpha set as the official
      AlphaInit sets it, 2 mean|u| over one forward of two random texts, then frozen. The position table
      has L rows (default 128, the sequence length benchmarked). Saved under the official state_dict
      names (SpikeBertForPreTraining) in DIR/spikelm-base.safetensors, with DIR/spikelm-base.json, a
      network file with the "encoder" head (the hidden states: what tokens/s measures). DIR/input.npy:
      N texts of L random token ids (no padding), float32 [N, 3, L] as snnsim infer takes them (ids,
      token types 0, attention mask 1). --small: 2 layers, hidden 128 (a smoke test).
run:  the reference's encoder (model.bert, eval mode, torch.inference_mode(), torch.set_num_threads(N))
      on DIR/input.npy (or FILE.npy) in batches of B: one warm-up batch, then every text, timed. Prints
      one JSON line: wall_s, tokens_per_s, peak_mb, torch_version, threads, batch, texts; with
      --compare, also the largest difference of the hidden states from OUT.npy (snnsim infer's
      --save-outputs of the same texts) relative to the largest hidden value.
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
import spikelm_reference as ref  # noqa: E402

NAME = "spikelm-base"


def config(length, small):
    sizes = dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512) if small else {}
    return ref.SpikeLMConfig(max_position_embeddings=length, **sizes)


def make(args):
    from safetensors.torch import save_file

    out = Path(args.directory)
    out.mkdir(parents=True, exist_ok=True)
    cfg = config(args.length, args.small)
    gen = torch.Generator().manual_seed(args.seed)
    model = ref.SpikeLMForPreTraining(cfg).eval()
    model.init_bert_weights(0.02, gen)
    model.reset_alpha_init()
    ids = torch.randint(5, cfg.vocab_size, (2, args.length), generator=gen)
    with torch.inference_mode():
        model(ids, torch.zeros_like(ids), torch.ones_like(ids))  # AlphaInit: 2 mean|u| per alpha
    model.mark_alphas_initialized()
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()
             if k != "cls.predictions.decoder.weight"}  # tied: the word embeddings
    save_file(state, str(out / f"{NAME}.safetensors"))
    network = {"format": "snnsim-network", "version": 1, "kind": "layer_graph",
               "description": (f"SpikeLM, {cfg.num_hidden_layers} layers, hidden {cfg.hidden_size}, T {cfg.T}, "
                               "BERT's initialisation, alphas by AlphaInit (bench/spikelm_torch.py)"),
               "model": "spikelm", "layers": cfg.num_hidden_layers, "hidden": cfg.hidden_size,
               "heads": cfg.num_attention_heads, "intermediate": cfg.intermediate_size, "timesteps": cfg.T,
               "vocabulary": cfg.vocab_size, "max_positions": args.length, "head": "encoder",
               "weights": f"{NAME}.safetensors"}
    (out / f"{NAME}.json").write_text(json.dumps(network, indent=2) + "\n")
    (out / "config.json").write_text(json.dumps({"length": args.length, "small": args.small}) + "\n")
    rng = np.random.default_rng(args.seed)
    texts = np.zeros((args.samples, 3, args.length), dtype=np.float32)
    texts[:, 0] = rng.integers(5, cfg.vocab_size, (args.samples, args.length))
    texts[:, 2] = 1.0
    np.save(out / "input.npy", texts)


def run(args):
    from safetensors.torch import load_file

    torch.set_num_threads(args.threads)
    directory = Path(args.directory)
    saved = json.loads((directory / "config.json").read_text())
    model = ref.SpikeLMForPreTraining(config(saved["length"], saved["small"])).eval()
    loaded = model.load_state_dict(load_file(str(directory / f"{NAME}.safetensors")), strict=False)
    assert not loaded.unexpected_keys and set(loaded.missing_keys) <= {"cls.predictions.decoder.weight"}, loaded
    model.mark_alphas_initialized()
    texts = torch.from_numpy(np.load(args.input or directory / "input.npy"))
    ids, types, mask = (texts[:, k].long() for k in range(3))
    hidden = []
    with torch.inference_mode():
        model.bert(ids[: args.batch], types[: args.batch], mask[: args.batch])
        start = time.perf_counter()
        for first in range(0, len(texts), args.batch):
            part = slice(first, first + args.batch)
            hidden.append(model.bert(ids[part], types[part], mask[part])[0])
        wall = time.perf_counter() - start
    result = {"wall_s": wall, "tokens_per_s": int(mask.sum()) / wall, "texts": len(texts),
              "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
              "torch_version": torch.__version__, "threads": args.threads, "batch": args.batch}
    if args.compare:
        ours = torch.from_numpy(np.load(args.compare))
        reference = torch.cat(hidden)
        result["hidden_max_relative_difference"] = float((ours - reference).abs().max() / reference.abs().max())
    print(json.dumps(result))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["make", "run"])
    parser.add_argument("directory")
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--input")
    parser.add_argument("--compare")
    args = parser.parse_args()
    (make if args.command == "make" else run)(args)


if __name__ == "__main__":
    main()
