"""Golden SpikeLM (spiking BERT) fixtures for snnsim, from spikelm_reference.py.

Regenerate (torch, numpy, safetensors; CPU, deterministic, a few seconds):
  /work/venv-torch/bin/python tools/reference/make_spikelm_fixtures.py [--out tests/data/spikelm]
      [--only NAME ...] [--margin 1e-5] [--no-jitter]
Cross-check against the official code: tools/reference/check_spikelm_official.py.

Fixtures (2 layers, hidden 128, 2 heads (d_h 64), intermediate 512, T 4, vocabulary 300,
max_positions 32, 2 token types, layer_norm_eps 1e-12, batch 3, L 12):
  spikelm_d128_l2_mlm   SpikeBertForPreTraining: MLM head (transform dense + ReLU + LayerNorm,
                        decoder tied to the word embeddings, + cls.predictions.bias)
  spikelm_d128_l2_cls   BertForSequenceClassification2: pooler (token 0, tanh) + classifier, 3 classes

Writes into the output directory, per fixture NAME:
  NAME.json                 the snnsim network file
  NAME.safetensors          float32, official key names: every key of the official state_dict except
                            bert.embeddings.position_ids (an int64 arange buffer), i.e. incl. every
                            weight_clip_val ([1], 1.0, unused), the 0-dim alphas act_clip_val.{t},
                            clip_key.{t}, clip_value.{t}, bert.pooler.*, and for mlm
                            cls.predictions.decoder.weight (= word embeddings), cls.predictions.decoder.bias
                            (= cls.predictions.bias; the official head ties it) and cls.seq_relationship.*
  NAME-input.npy            float32 [B, 3, L]: row 0 token ids, row 1 token type ids, row 2 attention mask
                            (1 / 0). Lengths 12, 9, 5, padded at the end with id 0 (type 0, mask 0);
                            sequence 0 has token type 1 in its second half (positions 6..11)
  NAME-expected.safetensors eval mode, all positions (padding too): hidden float32 [B, L, D] (encoder
                            output, mean over T); logits float32 (mlm [B, L, V], classify [B, classes]);
                            int8 -1/0/+1 levels [T, B, L, features] of every neuron:
                            layer{j}.{query,key,value}.spikes (inputs of the q/k/v SpikeLinear),
                            layer{j}.{key,value}.ternary (the stateless K/V quantizers),
                            layer{j}.attention_output.spikes, layer{j}.intermediate.spikes [.., 128],
                            layer{j}.output.spikes [.., 512]
  NAME-ties.json            per neuron: alphas per t, the -1/0/+1 shares (overall and per t), the count
                            of u / alpha within the margin (and 1e-4, 1e-3) of the rounding boundaries
                            +-0.5 and the smallest distance; the seed, weight scales, alpha procedure
                            and nudges; float64_rerun: the same network run in float64 (spikes must
                            not change: 0 differ; hidden / logits max |diff| as a tolerance guide)

Weights (seeded): word embeddings N(0, 1) (padding row 0 zeroed, as BERT's init does), position and
token-type N(0, 0.5^2); LayerNorm weight U(0.8, 1.2), bias N(0, 0.1^2); SpikeLinear weights
N(0, s^2) with s = 0.1 (query / key / value / attention output), 0.025 (intermediate: its GELU output
feeds output.dense's neuron, whose -1 level needs a pre-activation small enough for GELU's negative
lobe), 0.12 (output); every bias N(0, 0.05^2); pooler / transform / classifier / seq_relationship
N(0, 0.1^2) (classifier 0.3), cls.predictions.bias N(0, 0.1^2). BERT's std 0.02 everywhere would
leave attention nearly uniform and, since each alpha scales with its neuron's input, the leak
(0.25 alpha) of the attention-output and output neurons nearly zero.

Alphas: AlphaInit on the fixture input (every alpha 1.0 / not initialised, one eval forward: each
alpha_t = 2 mean|u_t| as the official code sets it), then each multiplied by a seeded factor in
[0.8, 1.2] (--no-jitter: 1): the q / k / v neurons of a layer see the same input, so plain AlphaInit
gives them equal alphas and equal spikes, which would hide a mixed-up wiring. Then a tie scan: while
some u / a_t lies within the margin of +-0.5 (forward order), the alpha of the first such
(neuron, t) is multiplied by (1 + max(2e-4, 5 * margin)) and the forward is run again (6 nudges
for mlm, 7 for cls at the default margin 1e-5). The nudges are listed in NAME-ties.json. Note: in a
real SpikeLM checkpoint the q / k / v alphas of a layer are equal (AlphaInit, then frozen).
"""

import argparse
import copy
import json
import pathlib
import re
import sys

import numpy as np
import torch
from safetensors.torch import save_file

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import spikelm_reference as ref  # noqa: E402

ROOT = HERE.parent.parent
DEFAULT_OUT = ROOT / "tests" / "data" / "spikelm"

SIZES = dict(vocab_size=300, hidden_size=128, num_hidden_layers=2, num_attention_heads=2,
             intermediate_size=512, max_position_embeddings=32, type_vocab_size=2,
             layer_norm_eps=1e-12, T=4, head_act="relu")
FIXTURES = {
    "spikelm_d128_l2_mlm": dict(head="mlm", seed=20240601, num_labels=2),
    "spikelm_d128_l2_cls": dict(head="classify", seed=20240602, num_labels=3),
}
LENGTHS = (12, 9, 5)
L = 12
WEIGHT_STD = {"query": 0.1, "key": 0.1, "value": 0.1, "attention_output": 0.1,
              "intermediate": 0.025, "output": 0.12}
WEIGHT_TAGS = {"query": r"\.attention\.self\.query\.", "key": r"\.attention\.self\.key\.",
               "value": r"\.attention\.self\.value\.", "attention_output": r"\.attention\.output\.dense\.",
               "intermediate": r"\.intermediate\.dense\.", "output": r"\.layer\.\d+\.output\.dense\."}
NUDGE = 2e-4  # smallest relative alpha nudge; max(NUDGE, 5 * margin) is used


def make_config(head, num_labels):
    return ref.SpikeLMConfig(**SIZES, num_labels=num_labels)


def fixture_init(model, generator):
    """Seeded weights with the scales of the docstring (draw order: named_parameters order)."""
    g = generator

    def normal(p, std, mean=0.0):
        p.copy_(torch.randn(p.shape, generator=g) * std + mean)

    with torch.no_grad():
        done = set()
        for name, p in model.named_parameters(remove_duplicate=True):
            if id(p) in done:
                continue
            done.add(id(p))
            leaf = name.rsplit(".", 1)[-1]
            if ".act_clip_val." in name or ".clip_key." in name or ".clip_value." in name:
                continue
            if "word_embeddings" in name:
                normal(p, 1.0)
                p[model.config.pad_token_id].zero_()
            elif "position_embeddings" in name or "token_type_embeddings" in name:
                normal(p, 0.5)
            elif "LayerNorm" in name:
                if leaf == "weight":
                    p.copy_(0.8 + 0.4 * torch.rand(p.shape, generator=g))
                else:
                    normal(p, 0.1)
            elif name == "cls.predictions.bias":
                normal(p, 0.1)
            elif leaf == "bias":
                normal(p, 0.05)
            else:
                std = 0.1
                for key, tag in WEIGHT_TAGS.items():
                    if re.search(tag, name):
                        std = WEIGHT_STD[key]
                if name.startswith("classifier"):
                    std = 0.3
                normal(p, std)


def make_input(seed, vocab):
    g = torch.Generator().manual_seed(seed + 7)
    B = len(LENGTHS)
    ids = torch.zeros(B, L, dtype=torch.long)
    types = torch.zeros(B, L, dtype=torch.long)
    mask = torch.zeros(B, L, dtype=torch.long)
    for b, n in enumerate(LENGTHS):
        ids[b, :n] = torch.randint(1, vocab, (n,), generator=g)
        mask[b, :n] = 1
    types[0, L // 2:LENGTHS[0]] = 1
    return ids, types, mask


def alpha_param(model, name, t):
    """The alpha Parameter behind snnsim node `name` at step t."""
    layer, node, kind = name.split(".")
    j = int(layer[len("layer"):])
    lay = model.bert.encoder.layer[j]
    if kind == "ternary":
        att = lay.attention.self
        return (att.clip_key if node == "key" else att.clip_value)[t]
    mod = {"query": lay.attention.self.query, "key": lay.attention.self.key, "value": lay.attention.self.value,
           "attention_output": lay.attention.output.dense, "intermediate": lay.intermediate.dense,
           "output": lay.output.dense}[node]
    return mod.act_clip_val[t]


def alpha_key(name, t):
    layer, node, kind = name.split(".")
    j = int(layer[len("layer"):])
    p = f"bert.encoder.layer.{j}."
    if kind == "ternary":
        return p + f"attention.self.clip_{node}.{t}"
    return p + {"query": "attention.self.query", "key": "attention.self.key", "value": "attention.self.value",
                "attention_output": "attention.output.dense", "intermediate": "intermediate.dense",
                "output": "output.dense"}[node] + f".act_clip_val.{t}"


def run(model, ids, types, mask):
    rec = ref.SpikeRecorder(ratios=True)
    with torch.no_grad():
        out = model(ids, types, mask.to(torch.float32), recorder=rec)
    return out, rec


def boundary_distance(r):
    return (r.abs() - 0.5).abs()


def make_fixture(name, spec, out_dir, margin, jitter):
    cfg = make_config(spec["head"], spec["num_labels"])
    torch.manual_seed(spec["seed"])
    model = ref.build_spikelm(cfg, spec["head"]).eval()
    g = torch.Generator().manual_seed(spec["seed"])
    fixture_init(model, g)
    ids, types, mask = make_input(spec["seed"], cfg.vocab_size)

    # AlphaInit on the fixture batch
    model.reset_alpha_init()
    run(model, ids, types, mask)
    names = ref.neuron_names(cfg)
    alpha_init = {alpha_key(n, t): float(alpha_param(model, n, t)) for n in names for t in range(cfg.T)}
    gj = torch.Generator().manual_seed(spec["seed"] + 13)
    factors = {}
    with torch.no_grad():
        for n in names:
            for t in range(cfg.T):
                f = float(0.8 + 0.4 * torch.rand((), generator=gj)) if jitter else 1.0
                factors[alpha_key(n, t)] = f
                a = alpha_param(model, n, t)
                a.copy_(a * f)
    model.mark_alphas_initialized()

    nudge = max(NUDGE, 5 * margin)    # moves a ratio at 0.5 by 2.5 margins at least
    nudges = []
    near_before = None
    for _ in range(2000):
        out, rec = run(model, ids, types, mask)
        if near_before is None:
            near_before = {str(m): sum(int((boundary_distance(rec.ratios[n]) < m).sum()) for n in names)
                           for m in (1e-5, margin)}
        bad = None
        for n in names:
            d = boundary_distance(rec.ratios[n])
            for t in range(cfg.T):
                if (d[t] < margin).any():
                    bad = (n, t, int((d[t] < margin).sum()), float(d[t].min()))
                    break
            if bad:
                break
        if bad is None:
            break
        n, t, cnt, dmin = bad
        a = alpha_param(model, n, t)
        with torch.no_grad():
            a.copy_(a * (1 + nudge))
        nudges.append({"neuron": n, "t": t, "alpha": alpha_key(n, t), "near_count": cnt, "min_distance": dmin,
                       "factor": 1 + nudge})
    else:
        raise RuntimeError(f"{name}: tie scan did not converge")
    assert all(v != 1.0 for v in model.alphas().values())

    out_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()
             if k != "bert.embeddings.position_ids"}
    assert all(v.dtype == torch.float32 for v in state.values())
    save_file(state, str(out_dir / f"{name}.safetensors"), metadata={"format": "pt"})

    x = torch.stack([ids, types, mask], dim=1).to(torch.float32).numpy()
    np.save(out_dir / f"{name}-input.npy", x)

    expected = {"hidden": out["hidden"].contiguous(), "logits": out["logits"].contiguous()}
    for n in names:
        expected[n] = rec.spikes[n].contiguous()
    save_file(expected, str(out_dir / f"{name}-expected.safetensors"), metadata={"format": "pt"})

    net = {"format": "snnsim-network", "version": 1, "kind": "layer_graph",
           "description": (f"SpikeLM spiking BERT ({'MLM head' if spec['head'] == 'mlm' else 'sequence classification head'}), "
                           f"with the sizes of the {name} golden fixture (seeded random weights)"),
           "model": "spikelm", "layers": cfg.num_hidden_layers, "hidden": cfg.hidden_size,
           "heads": cfg.num_attention_heads, "intermediate": cfg.intermediate_size, "timesteps": cfg.T,
           "vocabulary": cfg.vocab_size, "max_positions": cfg.max_position_embeddings,
           "type_vocabulary": cfg.type_vocab_size, "layer_norm_eps": cfg.layer_norm_eps,
           "head": spec["head"]}
    if spec["head"] == "mlm":
        net["head_activation"] = cfg.head_act
    else:
        net["classes"] = cfg.num_labels
    net["weights"] = f"{name}.safetensors"
    (out_dir / f"{name}.json").write_text(json.dumps(net, indent=2) + "\n")

    per_neuron = {}
    for n in names:
        q, r = rec.spikes[n], rec.ratios[n]
        d = boundary_distance(r)
        per_neuron[n] = {
            "shape": list(q.shape),
            "alphas": [float(alpha_param(model, n, t)) for t in range(cfg.T)],
            "alpha_init": [alpha_init[alpha_key(n, t)] for t in range(cfg.T)],
            "jitter": [factors[alpha_key(n, t)] for t in range(cfg.T)],
            "shares": {str(v): round(float((q == v).float().mean()), 4) for v in (-1, 0, 1)},
            "shares_per_t": [{str(v): round(float((q[t] == v).float().mean()), 4) for v in (-1, 0, 1)}
                             for t in range(cfg.T)],
            "near_boundary": {str(m): int((d < m).sum()) for m in (margin, 1e-4, 1e-3)},
            "min_boundary_distance": float(d.min()),
        }
    # robustness: the same network in float64 (other rounding everywhere) must give the same spikes
    m64 = copy.deepcopy(model).double()
    rec64 = ref.SpikeRecorder()
    with torch.no_grad():
        out64 = m64(ids, types, mask.to(torch.float64), recorder=rec64)
    float64_rerun = {
        "spikes_differing": sum(int((rec64.spikes[n] != rec.spikes[n]).sum()) for n in names),
        "hidden_max_abs_diff": float((out64["hidden"] - out["hidden"].double()).abs().max()),
        "logits_max_abs_diff": float((out64["logits"] - out["logits"].double()).abs().max()),
        "logits_max_abs": float(out["logits"].abs().max()),
    }
    assert float64_rerun["spikes_differing"] == 0, float64_rerun
    total = {str(m): sum(v["near_boundary"][str(m)] for v in per_neuron.values()) for m in (margin, 1e-4, 1e-3)}
    ties = {
        "name": name, "seed": spec["seed"], "head": spec["head"], "batch": len(LENGTHS), "L": L,
        "lengths": list(LENGTHS),
        "config": dataclass_dict(cfg),
        "weight_std": WEIGHT_STD,
        "alpha_procedure": ("AlphaInit (2 mean|u_t| of the fixture batch, forward order) x seeded jitter "
                            + ("U(0.8, 1.2)" if jitter else "1") + f", then tie-scan nudges x (1 + {nudge})"),
        "boundaries": "u / alpha = +-0.5 (round half to even: exactly 0.5 gives 0)",
        "margin": margin,
        "near_boundary_total": total,
        "near_boundary_before_nudges": near_before,
        "nudges": nudges,
        "float64_rerun": float64_rerun,
        "min_boundary_distance": min(v["min_boundary_distance"] for v in per_neuron.values()),
        "neurons": per_neuron,
    }
    (out_dir / f"{name}-ties.json").write_text(json.dumps(ties, indent=1) + "\n")
    for p in out_dir.glob(f"{name}*"):
        p.chmod(0o644)    # safetensors writes 0600
    return ties


def dataclass_dict(cfg):
    import dataclasses
    return dataclasses.asdict(cfg)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT)
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--margin", type=float, default=1e-5)
    ap.add_argument("--no-jitter", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    for name, spec in FIXTURES.items():
        if args.only and name not in args.only:
            continue
        t = make_fixture(name, spec, args.out, args.margin, not args.no_jitter)
        print(f"{name}: seed {t['seed']}, nudges {len(t['nudges'])}, near-boundary (<{args.margin}) "
              f"after: {t['near_boundary_total'][str(args.margin)]}, min distance {t['min_boundary_distance']:.3g}; "
              f"float64 rerun: {t['float64_rerun']}")
        for n, v in t["neurons"].items():
            s = v["shares"]
            print(f"  {n:32s} -1 {s['-1']:.3f}  0 {s['0']:.3f}  +1 {s['1']:.3f}   "
                  f"alpha {' '.join(f'{a:.3f}' for a in v['alphas'])}")
        sizes = {p.name: p.stat().st_size for p in sorted(args.out.glob(f"{name}*"))}
        print("  files:", ", ".join(f"{k} {v}" for k, v in sizes.items()))


if __name__ == "__main__":
    main()
