"""Cross-check of the SpikeLM reference (spikelm_reference.py) and fixtures against the official code.

Usage (official code needs transformers 4.40-era; torch, numpy, safetensors):
  /work/venv-spikelm-official/bin/python tools/reference/check_spikelm_official.py [OFFICIAL_REPO]
      [--rev HEAD] [--fixtures tests/data/spikelm] [--no-fixtures] [--tolerance 1e-6]

  /work/venv-spikelm-official: python3 -m venv, then pip install transformers==4.40.2 numpy safetensors
  (tokenizers 0.19.1, huggingface_hub 0.36.2 come with it) and torch; where the CPU wheel index is not
  reachable, a .pth file naming /work/venv-torch/lib/python3.11/site-packages lends that venv's torch
  (it comes after the venv's own site-packages, so transformers 4.40.2 is the one imported).

OFFICIAL_REPO (default /work/.mirror/Xingrun-Xing+SpikeLM/repo) is a git repository of
github.com/Xingrun-Xing/SpikeLM, bare or not: spikeLM-BERT/spiking.py, spikeLM-BERT/spike_bert.py and
spikeLM-BERT/spike_ft-10w/spike_bert_ft.py at REV are written into a temporary directory (never into
this repository) and imported from there. One patch: every `.cuda()` in spiking.py is removed (the
tensors are created on the input's device by zeros_like already); nothing else is changed.

The official models are built as run_pretrain.py / spike_ft-10w/spike_bert_ft.py build them: a
BertConfig plus weight_bits 32, input_bits 2, clip_init_val 2.5, weight_layerwise, input_layerwise,
hidden_act 'relu', quantize_act, clip_val 1.0, T 4; SpikeBertForPreTraining (MLM) and
BertForSequenceClassification2 (3 labels), eval mode. Sizes: 2 layers, hidden 128, 2 heads,
intermediate 512, vocabulary 300, max_positions 32, 2 token types, layer_norm_eps 1e-12. Input: the
fixtures' batch (3 sequences, lengths 12 / 9 / 5, zero padding, attention mask, token types 1 in half
of sequence 0), ids given as int64 as a tokenizer gives them.

Checks, per head:
  * keys: the official state_dict's keys, order, shapes and dtypes equal the reference's;
  * case "official init": the official model's own seeded init (BERT _init_weights, std 0.02), all
    alphas 1.0: one forward of each model (both AlphaInit their alphas on it, in eval mode) -> the
    alphas equal bit for bit, then hidden / logits / every spike equal; a second forward with the
    now-set alphas equal too;
  * case "fixture-style init": the same with make_spikelm_fixtures.fixture_init's seeded weights;
  * training mode (dropout 0, fixture-style init, AlphaInit on the batch): the straight-through
    gradients of every trainable parameter equal the official ones (alphas frozen in both);
  * fixtures (unless --no-fixtures): NAME.safetensors loads into the official model (strict, but for
    the position_ids buffer), no alpha is exactly 1.0 (else the official forward would re-initialise
    it), and the official hidden, logits and int8 spikes equal NAME-expected.safetensors and the
    reference's.
Official spikes are read by wrapping each module's quantizer (act_quantizer / act_quantizer_k /
act_quantizer_v .apply) so that it records round(output / max(alpha, 1e-5)); the official code's
own computation is untouched. Floats must agree within --tolerance (default 1e-6; expect 0),
spikes exactly; exit status 1 otherwise.
"""

import argparse
import json
import pathlib
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import torch
from safetensors.torch import load_file

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_spikelm_fixtures as mk  # noqa: E402
import spikelm_reference as ref  # noqa: E402

MIRROR = "/work/.mirror/Xingrun-Xing+SpikeLM/repo"
FILES = {"spiking.py": "spikeLM-BERT/spiking.py", "spike_bert.py": "spikeLM-BERT/spike_bert.py",
         "spike_bert_ft.py": "spikeLM-BERT/spike_ft-10w/spike_bert_ft.py"}
NAMES = {"mlm": "spikelm_d128_l2_mlm", "classify": "spikelm_d128_l2_cls"}
GRAD_TOLERANCE = 1e-6   # relative to the largest gradient; expect 0


def unpack_official(repo, rev, tmp):
    commit = subprocess.run(["git", "-C", repo, "rev-parse", rev], check=True, capture_output=True,
                            text=True).stdout.strip()
    patched = {}
    for dst, src in FILES.items():
        text = subprocess.run(["git", "-C", repo, "show", f"{rev}:{src}"], check=True, capture_output=True,
                              text=True).stdout
        if dst == "spiking.py":
            patched[dst] = text.count(".cuda()")
            text = text.replace(".cuda()", "")
        (tmp / dst).write_text(text)
    return commit, patched


class QuantizerTap:
    """Stands in for ElasticBiSpiking on one module: calls it, records the levels."""

    def __init__(self, fn, log):
        self.fn, self.log = fn, log

    def apply(self, x, alpha, bits, layerwise):
        y = self.fn.apply(x, alpha, bits, layerwise)
        a = torch.where(alpha > 1e-5, alpha, torch.tensor(1e-5))
        self.log.append((y / a).round().to(torch.int8))
        return y


def tap_official(model, spiking):
    logs = {}
    for j, layer in enumerate(model.bert.encoder.layer):
        att = layer.attention.self
        mods = {"query": att.query, "key": att.key, "value": att.value,
                "attention_output": layer.attention.output.dense, "intermediate": layer.intermediate.dense,
                "output": layer.output.dense}
        for n, m in mods.items():
            logs[f"layer{j}.{n}.spikes"] = []
            m.act_quantizer = QuantizerTap(spiking.ElasticBiSpiking, logs[f"layer{j}.{n}.spikes"])
        logs[f"layer{j}.key.ternary"] = []
        logs[f"layer{j}.value.ternary"] = []
        att.act_quantizer_k = QuantizerTap(spiking.ElasticBiSpiking, logs[f"layer{j}.key.ternary"])
        att.act_quantizer_v = QuantizerTap(spiking.ElasticBiSpiking, logs[f"layer{j}.value.ternary"])
    hidden = {}
    model.bert.encoder.register_forward_hook(lambda m, i, o: hidden.__setitem__("h", o[0]))
    return logs, hidden


def run_official(model, logs, hidden, ids, types, mask):
    for v in logs.values():
        v.clear()
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, token_type_ids=types)
    logits = out.prediction_logits if hasattr(out, "prediction_logits") else out.logits
    spikes = {}
    for k, v in logs.items():
        # SpikeLinear: T calls on [B, L, F]; K/V quantizers: T calls on [1, B, L, F]
        spikes[k] = torch.cat(v, 0) if v[0].dim() == 4 else torch.stack(v, 0)
    return {"hidden": hidden["h"], "logits": logits, "spikes": spikes,
            "nsp": getattr(out, "seq_relationship_logits", None)}


def run_reference(model, ids, types, mask):
    rec = ref.SpikeRecorder()
    with torch.no_grad():
        out = model(ids, types, mask.to(torch.float32), recorder=rec)
    return {"hidden": out["hidden"], "logits": out["logits"], "spikes": rec.spikes,
            "nsp": out.get("nsp_logits")}


def official_config(head):
    from transformers.models.bert.configuration_bert import BertConfig
    c = BertConfig(vocab_size=mk.SIZES["vocab_size"], hidden_size=mk.SIZES["hidden_size"],
                   num_hidden_layers=mk.SIZES["num_hidden_layers"],
                   num_attention_heads=mk.SIZES["num_attention_heads"],
                   intermediate_size=mk.SIZES["intermediate_size"],
                   max_position_embeddings=mk.SIZES["max_position_embeddings"],
                   type_vocab_size=mk.SIZES["type_vocab_size"], layer_norm_eps=mk.SIZES["layer_norm_eps"],
                   num_labels=3 if head == "classify" else 2)
    c.weight_bits, c.input_bits, c.clip_init_val = 32, 2, 2.5
    c.weight_layerwise = c.input_layerwise = True
    c.hidden_act, c.quantize_act, c.clip_val, c.T = "relu", True, 1.0, 4
    return c


def build_official(head, mods, seed, dropout=None):
    torch.manual_seed(seed)
    cfg = official_config(head)
    if dropout is not None:
        cfg.hidden_dropout_prob = cfg.attention_probs_dropout_prob = dropout
    m = mods["spike_bert"].SpikeBertForPreTraining(cfg) if head == "mlm" else \
        mods["spike_bert_ft"].BertForSequenceClassification2(cfg)
    return m.eval()


class Report:
    def __init__(self, tol):
        self.tol, self.failures, self.lines = tol, [], []

    def floats(self, what, a, b):
        d = (a - b).abs().max().item()
        ok = d <= self.tol
        self.lines.append(f"    {what:44s} max |diff| {d:.3g}{'' if ok else '  FAIL'}")
        if not ok:
            self.failures.append(what)

    def spikes(self, what, sa, sb):
        keys_ok = set(sa) == set(sb)
        diff = sum(int((sa[k] != sb[k]).sum()) for k in sa if k in sb and sa[k].shape == sb[k].shape)
        shapes_ok = all(k in sb and sa[k].shape == sb[k].shape and sa[k].dtype == sb[k].dtype == torch.int8
                        for k in sa)
        total = sum(v.numel() for v in sa.values())
        ok = keys_ok and shapes_ok and diff == 0
        self.lines.append(f"    {what:44s} {len(sa)} neurons, {total} levels, {diff} differ"
                          f"{'' if ok else '  FAIL (keys/shapes ' + str(keys_ok and shapes_ok) + ')'}")
        if not ok:
            self.failures.append(what)

    def check(self, what, ok, detail=""):
        self.lines.append(f"    {what:44s} {'ok' if ok else 'FAIL'} {detail}")
        if not ok:
            self.failures.append(what)

    def flush(self):
        print("\n".join(self.lines))
        self.lines = []


def compare(rep, tag, o, r):
    rep.floats(f"{tag}: hidden", o["hidden"], r["hidden"])
    rep.floats(f"{tag}: logits", o["logits"], r["logits"])
    if o["nsp"] is not None and r["nsp"] is not None:
        rep.floats(f"{tag}: NSP logits", o["nsp"], r["nsp"])
    rep.spikes(f"{tag}: spikes", o["spikes"], r["spikes"])


def check_case(rep, head, mods, ids, types, mask, init):
    off = build_official(head, mods, 1234)
    cfg = mk.make_config(head, 3 if head == "classify" else 2)
    mine = ref.build_spikelm(cfg, head).eval()
    if init == "official init":
        mine.load_state_dict(off.state_dict(), strict=True)         # alphas 1.0, not initialised
    else:
        mk.fixture_init(mine, torch.Generator().manual_seed(99))
        off.load_state_dict(mine.state_dict(), strict=True)
    logs, hidden = tap_official(off, mods["spiking"])
    o = run_official(off, logs, hidden, ids, types, mask)
    r = run_reference(mine, ids, types, mask)
    oa = {k: v.item() for k, v in off.state_dict().items() if ".act_clip_val." in k or ".clip_" in k}
    ra = mine.alphas()
    rep.check(f"{init}: AlphaInit alphas equal", oa == ra and len(oa) == 2 * 8 * 4,
              f"({len(oa)} alphas, max |diff| {max(abs(oa[k] - ra.get(k, 0.0)) for k in oa):.3g}, "
              f"range {min(oa.values()):.3f}..{max(oa.values()):.3f})")
    compare(rep, f"{init}, 1st forward (AlphaInit)", o, r)
    o2 = run_official(off, logs, hidden, ids, types, mask)
    r2 = run_reference(mine, ids, types, mask)
    compare(rep, f"{init}, 2nd forward", o2, r2)
    return o, r


def check_gradients(rep, head, mods, ids, types, mask):
    """Training mode, dropout 0: the STE gradients of every parameter equal the official ones."""
    off = build_official(head, mods, 7, dropout=0.0)
    cfg = mk.make_config(head, 3 if head == "classify" else 2)
    cfg.hidden_dropout_prob = cfg.attention_probs_dropout_prob = 0.0
    mine = ref.build_spikelm(cfg, head)
    mk.fixture_init(mine, torch.Generator().manual_seed(5))
    off.load_state_dict(mine.state_dict(), strict=True)
    off.train()
    mine.train()
    out_o = off(input_ids=ids, attention_mask=mask, token_type_ids=types)   # first batch: AlphaInit
    out_r = mine(ids, types, mask.to(torch.float32))
    lo = out_o.prediction_logits if head == "mlm" else out_o.logits
    w = torch.randn(lo.shape, generator=torch.Generator().manual_seed(3))
    loss_o, loss_r = (lo * w).sum(), (out_r["logits"] * w).sum()
    if head == "mlm":
        wn = torch.randn(out_o.seq_relationship_logits.shape, generator=torch.Generator().manual_seed(4))
        loss_o = loss_o + (out_o.seq_relationship_logits * wn).sum()
        loss_r = loss_r + (out_r["nsp_logits"] * wn).sum()
    loss_o.backward()
    loss_r.backward()
    go = {k: p.grad for k, p in off.named_parameters() if p.requires_grad}
    gr = {k: p.grad for k, p in mine.named_parameters() if p.requires_grad}
    rep.check("train mode: same trainable parameters", set(go) == set(gr) and all(
        v is not None for v in list(go.values()) + list(gr.values())), f"({len(go)}; alphas frozen)")
    d = max((go[k] - gr[k]).abs().max().item() for k in go if k in gr)
    scale = max(go[k].abs().max().item() for k in go)
    ok = d <= GRAD_TOLERANCE * max(1.0, scale)
    rep.check("train mode: STE gradients equal", ok, f"(max |diff| {d:.3g}, max |grad| {scale:.3g})")


def check_fixture(rep, head, mods, fixtures):
    name = NAMES[head]
    net = json.loads((fixtures / f"{name}.json").read_text())
    state = load_file(str(fixtures / net["weights"]))
    exp = load_file(str(fixtures / f"{name}-expected.safetensors"))
    x = np.load(fixtures / f"{name}-input.npy")
    ids, types, mask = (torch.from_numpy(x[:, i]).to(torch.long) for i in range(3))
    off = build_official(head, mods, 1)
    own = off.state_dict()
    missing, unexpected = off.load_state_dict(state, strict=False)
    rep.check(f"{name}: loads into the official model",
              list(missing) == ["bert.embeddings.position_ids"] and not unexpected,
              f"(missing {list(missing)}, unexpected {list(unexpected)}; {len(state)} tensors)")
    rep.check(f"{name}: same key set as the official minus position_ids",
              set(state) == set(own) - {"bert.embeddings.position_ids"})
    alphas = {k: v.item() for k, v in state.items() if ".act_clip_val." in k or ".clip_" in k}
    rep.check(f"{name}: no alpha is exactly 1.0", all(a != 1.0 for a in alphas.values()),
              f"({len(alphas)} alphas, {min(alphas.values()):.3f}..{max(alphas.values()):.3f})")
    logs, hidden = tap_official(off, mods["spiking"])
    o = run_official(off, logs, hidden, ids, types, mask)
    oa = {k: v.item() for k, v in off.state_dict().items() if k in alphas}
    rep.check(f"{name}: official forward kept the alphas", oa == alphas)
    cfg = mk.make_config(head, net.get("classes", 2))
    mine = ref.load_state_dict_official(ref.build_spikelm(cfg, head).eval(), state)
    r = run_reference(mine, ids, types, mask)
    e = {"hidden": exp["hidden"], "logits": exp["logits"], "nsp": None,
         "spikes": {k: v for k, v in exp.items() if k not in ("hidden", "logits")}}
    compare(rep, f"{name}: official vs reference", o, r)
    compare(rep, f"{name}: official vs expected", o, e)
    compare(rep, f"{name}: reference vs expected", r, e)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("repo", nargs="?", default=MIRROR)
    ap.add_argument("--rev", default="HEAD")
    ap.add_argument("--fixtures", type=pathlib.Path, default=mk.DEFAULT_OUT)
    ap.add_argument("--no-fixtures", action="store_true")
    ap.add_argument("--tolerance", type=float, default=1e-6)
    args = ap.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    import transformers
    transformers.logging.set_verbosity_error()

    rep = Report(args.tolerance)
    with tempfile.TemporaryDirectory(prefix="spikelm-official-") as tmp:
        tmp = pathlib.Path(tmp)
        commit, patched = unpack_official(args.repo, args.rev, tmp)
        sys.path.insert(0, str(tmp))
        import spike_bert
        import spike_bert_ft
        import spiking
        mods = {"spike_bert": spike_bert, "spike_bert_ft": spike_bert_ft, "spiking": spiking}
        print(f"official: {args.repo} at {args.rev} = {commit}; patched spiking.py: "
              f"{patched['spiking.py']} x '.cuda()' removed; torch {torch.__version__}, "
              f"transformers {transformers.__version__}")
        ids, types, mask = mk.make_input(mk.FIXTURES[NAMES["mlm"]]["seed"], mk.SIZES["vocab_size"])
        for head in ("mlm", "classify"):
            print(f"== head {head} ({'SpikeBertForPreTraining' if head == 'mlm' else 'BertForSequenceClassification2'})")
            off = build_official(head, mods, 0)
            mine = ref.build_spikelm(mk.make_config(head, 3 if head == "classify" else 2), head)
            so, sr = off.state_dict(), mine.state_dict()
            same = list(so) == list(sr) and all(so[k].shape == sr[k].shape and so[k].dtype == sr[k].dtype
                                               for k in so)
            rep.check("state_dict keys / order / shapes / dtypes", same, f"({len(so)} keys)")
            for init in ("official init", "fixture-style init"):
                check_case(rep, head, mods, ids, types, mask, init)
            check_gradients(rep, head, mods, ids, types, mask)
            if not args.no_fixtures:
                check_fixture(rep, head, mods, args.fixtures)
            rep.flush()
    if rep.failures:
        print(f"FAILED: {len(rep.failures)} check(s): {rep.failures}")
        return 1
    print("all checks passed: the reference and the fixtures equal the official SpikeLM code")
    return 0


if __name__ == "__main__":
    sys.exit(main())
