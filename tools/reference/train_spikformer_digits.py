"""Train a small Spikformer (spikformer_reference.Spikformer, CIFAR variant, one input channel) on
scikit-learn's digits, without and with STATA token pruning, and write the snnsim examples
examples/spikformer-digits.json and examples/spikformer-digits-stata.json with their weights, the
test inputs, labels and golden logits.

How to run (from the repository root; torch, numpy, safetensors, scikit-learn; CPU only, about
12 minutes on 2 idle cores (an epoch: about 35 s base, 27 s STATA), several times that with
other work beside it; nothing is downloaded, the digits ship with scikit-learn):

    /work/venv-torch/bin/python tools/reference/train_spikformer_digits.py [--epochs 12]
        [--stata-epochs 4] [--seed 0] [--out examples]
        [--report tools/reference/spikformer_digits_report.json]

Data: sklearn.datasets.load_digits (1797 8x8 images, values 0..16), split as
tools/reference/train_digit_examples.py and train_trevsnn_digits.py do: train_test_split(
test_size=0.25, random_state=0, stratify=labels) -> 1347 train, 450 test. Every image is upsampled
by 4 with nearest neighbour to 32x32, one channel ([1, 32, 32]). Pixel values stay 0..16: the
network input is the raw value (snnsim feeds the .npy values directly, no normalisation; direct
encoding, the same image at every timestep). Training augments with random shifts of up to
AUG_SHIFT pixels (zero fill); evaluation does not.

Model: Spikformer(embed_dims 64, depths 3, num_heads 4, mlp_ratios 4, T 4, in_channels 1,
10 classes, img_size 32): 8 x 8 = 64 tokens. The reference's LIFs have no gradient; for training
every LIF is swapped for TrainLIF, which in train mode fires exactly as the reference
(heaviside(H - v_threshold), H >= threshold spikes, hard reset with the spike detached, as
spikingjelly's detach_reset=True) and back-propagates spikingjelly's default surrogate of
MultiStepLIFNode, surrogate.Sigmoid(alpha=4): dS/dH = 4 sigmoid'(4 (H - v_threshold)); in eval
mode TrainLIF runs the reference forward itself, so eval results are the reference's bit for bit
(and the exported logits come from a fresh reference model anyway). LIFs hold nothing in the
state_dict, so the swap leaves its keys as they are.
Trained in train mode (BatchNorm batch statistics), plain autograd, cross-entropy with label
smoothing 0.1, AdamW (weight decay WEIGHT_DECAY on the conv and linear weights only), per-step
cosine schedule with a linear warmup, grad-norm clip. Evaluated in eval mode.

STATA: the same model with token_pruning {"blocks": [1, 2], "keep_ratio": 0.7, "criterion":
"stata", "pruned": "drop"} (64 -> 45 -> 32 candidate tokens), the base weights loaded
(strict=False: only anchor.tokens is new), the anchor parameter drawn U(0, 1) (about half the
entries >= 0.5, i.e. spiking) and the whole model fine-tuned with pruning active in train mode:
the anchor learns through the straight-through step of AnchorTokens and the surrogate (its lr
ANCHOR_LR_SCALE times the others', no weight decay, clamped to [0, 1] after every step so that
entries can still flip). Before saving, the anchor is binarized ((p >= 0.5), what eval uses).
The fine-tuned weights are also evaluated at keep ratios 1.0, 0.9 and 0.5 (same blocks), and the
base weights with the initial anchor and no fine-tuning at 0.7.

Outputs (--out, default examples/):
  data/spikformer-digits.safetensors        the eval-ready state_dict of the base model, every key
                                            of the reference's (= the official Spikformer's,
                                            incl. the never-called norm1/norm2), num_batches_tracked
                                            int64, the rest float32
  data/spikformer-digits-stata.safetensors  the same for the STATA model, plus anchor.tokens
                                            float32 [4, 64], values 0.0 / 1.0
  data/spikformer-digits-input.npy          uint8 [450, 1, 32, 32], the test images
  data/spikformer-digits-labels.npy         int64 [450], their labels
  data/spikformer-digits-expected.npy       float32 [450, 10], eval-mode logits of a fresh reference
  data/spikformer-digits-stata-expected.npy model loaded from the saved file (strict), on the
                                            float32 of the uint8 test images: head(mean over the
                                            tokens (not the anchor), mean over T), in batches of
                                            150; the same bit for bit in batches of 2 (batch 1:
                                            the same pooled features, the head's GEMV may round
                                            differently; the report gives by how much)
  spikformer-digits.json, spikformer-digits-stata.json   the snnsim network descriptions
and the report tools/reference/spikformer_digits_report.json (accuracies, epochs, times, seed,
versions, file sizes; on the test set per LIF the spike rate, charges exactly at the threshold and
within 1e-6 / 1e-5 / 1e-4 of it; per pruning block the selection margins: samples whose K-th and
(K+1)-th keys are exactly equal, and whose boundary gap is under 1e-6 / 1e-4).

Deterministic: seeded torch and numpy, torch.set_num_threads(2), deterministic algorithms; a
rerun on the same machine and library versions writes the same files.
"""

import argparse
import json
import math
import pathlib
import platform
import sys
import time

import numpy as np
import safetensors
import sklearn
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
from spikformer_reference import MultiStepLIF, Spikformer, keep_count, selection_keys  # noqa: E402

CONFIG = dict(embed_dims=64, depths=3, num_heads=4, mlp_ratios=4, T=4, in_channels=1, classes=10, img_size=32)
TOKEN_PRUNING = {"blocks": [1, 2], "keep_ratio": 0.7, "criterion": "stata", "pruned": "drop"}
EXTRA_KEEP_RATIOS = (1.0, 0.9, 0.5)  # the fine-tuned STATA weights, evaluated at these too
UPSAMPLE = 4
AUG_SHIFT = 3  # random training shifts, in pixels of the 32x32 image
BATCH = 64
BASE_LR = 2e-3
WARMUP_EPOCHS = 2
STATA_LR = 5e-4
STATA_WARMUP_EPOCHS = 0
ANCHOR_LR_SCALE = 20.0
MIN_LR = 1e-5
WEIGHT_DECAY = 0.01
LABEL_SMOOTHING = 0.1
CLIP_GRAD = 5.0
SURROGATE_ALPHA = 4.0  # spikingjelly surrogate.Sigmoid(alpha=4), MultiStepLIFNode's default
TIE_TOLERANCES = (1e-6, 1e-5, 1e-4)
EVAL_BATCH = 150
NAME = "spikformer-digits"
STATA_NAME = "spikformer-digits-stata"


def load_data():
    """(x_train, y_train, x_test, y_test): uint8 [N, 1, 32, 32] images 0..16, int64 labels."""
    digits = load_digits()
    images = digits.images.astype(np.uint8)  # [1797, 8, 8], integer values 0..16
    labels = digits.target.astype(np.int64)
    idx_tr, idx_te = train_test_split(
        np.arange(len(labels)), test_size=0.25, random_state=0, stratify=labels
    )
    big = images.repeat(UPSAMPLE, axis=1).repeat(UPSAMPLE, axis=2)  # nearest neighbour
    one = np.ascontiguousarray(big[:, None])  # [N, 1, 32, 32]
    return one[idx_tr], labels[idx_tr], one[idx_te], labels[idx_te]


def random_shift(x, gen):
    """Shift every image by its own random (dy, dx) in [-AUG_SHIFT, AUG_SHIFT], zero fill."""
    n, _, h, w = x.shape
    pad = F.pad(x, (AUG_SHIFT,) * 4)
    d = torch.randint(0, 2 * AUG_SHIFT + 1, (n, 2), generator=gen)
    return torch.stack(
        [pad[i, :, d[i, 0] : d[i, 0] + h, d[i, 1] : d[i, 1] + w] for i in range(n)]
    )


class LIFSurrogate(torch.autograd.Function):
    """Multi-step LIF (tau, v_threshold, v_reset 0) over dim 0 with the sigmoid surrogate.

    Forward per t: H = V + (X - V) / tau, S = (H >= th), V = H where S == 0 else 0, i.e. the
    reference's (1 - S) * H + S * 0 (up to the sign of a zero V, which gives the same next H).
    Backward (reset detached): dH_t = dS_t * sg'(H_t) + dV_t * (1 - S_t), dV_t = dH_{t+1} *
    (1 - 1 / tau), dX_t = dH_t / tau, sg'(u) = alpha sigmoid(alpha u) (1 - sigmoid(alpha u))."""

    @staticmethod
    def forward(ctx, x_seq, tau, threshold):
        v = torch.zeros_like(x_seq[0])
        charges, spikes = [], []
        for t in range(x_seq.shape[0]):
            h = v + (x_seq[t] - v) / tau
            s = h >= threshold
            v = h.masked_fill(s, 0.0)
            charges.append(h)
            spikes.append(s)
        h, s = torch.stack(charges), torch.stack(spikes)
        ctx.save_for_backward(h, s)
        ctx.tau, ctx.threshold = tau, threshold
        return s.to(x_seq.dtype)

    @staticmethod
    def backward(ctx, grad_spikes):
        h, s = ctx.saved_tensors
        sig = torch.sigmoid(SURROGATE_ALPHA * (h - ctx.threshold))
        grad = grad_spikes * (sig * (1.0 - sig) * SURROGATE_ALPHA)
        grad_x = torch.empty_like(h)
        grad_h = None
        for t in reversed(range(h.shape[0])):
            g = grad[t]
            if grad_h is not None:
                g = g + (grad_h * (1.0 - 1.0 / ctx.tau)).masked_fill_(s[t], 0.0)
            grad_h = g
            grad_x[t] = g / ctx.tau
        return grad_x, None, None


class TrainLIF(MultiStepLIF):
    """The reference LIF in eval mode; in train mode the same spikes with the surrogate gradient."""

    def forward(self, x_seq):
        if not self.training:
            return super().forward(x_seq)
        assert self.v_reset == 0.0
        return LIFSurrogate.apply(x_seq, self.tau, self.v_threshold)


def with_surrogate(model):
    """Swap every MultiStepLIF of the model for a TrainLIF (same tau, threshold, reset)."""
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if type(child) is MultiStepLIF:
                setattr(module, name, TrainLIF(child.tau, child.v_threshold, child.v_reset))
    return model


def param_groups(model, lr):
    """Weight decay on the conv and linear weights only (not on biases, BatchNorm, LayerNorm),
    as the official create_optimizer skips 1-d parameters and biases; the anchor in its own
    group, no weight decay, a larger lr."""
    decay, no_decay, anchor = [], [], []
    for name, p in model.named_parameters():
        if name == "anchor.tokens":
            anchor.append(p)
        elif name.endswith(".weight") and p.dim() >= 2:
            decay.append(p)
        else:
            no_decay.append(p)
    groups = [
        dict(params=decay, weight_decay=WEIGHT_DECAY, base_lr=lr),
        dict(params=no_decay, weight_decay=0.0, base_lr=lr),
    ]
    if anchor:
        groups.append(dict(params=anchor, weight_decay=0.0, base_lr=lr * ANCHOR_LR_SCALE))
    return groups


def lr_scale(step, total, warmup, base_lr):
    """Factor on the base lr: linear warmup, then cosine from 1 to MIN_LR / base_lr."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    floor = MIN_LR / base_lr
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))


@torch.no_grad()
def predict(model, x_uint8, batch=EVAL_BATCH):
    """Eval-mode logits on the float32 of the uint8 images."""
    model.eval()
    out = [model(torch.from_numpy(x_uint8[i : i + batch]).float()) for i in range(0, len(x_uint8), batch)]
    return torch.cat(out)


def accuracy(logits, labels):
    return float((logits.argmax(1).numpy() == labels).mean())


def train(model, x_tr, y_tr, epochs, lr, warmup_epochs, gen, tag):
    opt = torch.optim.AdamW(param_groups(model, lr), lr=lr, betas=(0.9, 0.999), eps=1e-8)
    anchor = getattr(model, "anchor", None)
    x_all = torch.from_numpy(x_tr).float()
    y_all = torch.from_numpy(y_tr)
    n = len(y_all)
    steps_per_epoch = (n + BATCH - 1) // BATCH
    total = epochs * steps_per_epoch
    step = 0
    for epoch in range(epochs):
        model.train()
        t0 = time.time()
        perm = torch.randperm(n, generator=gen)
        running, correct = 0.0, 0
        for i in range(0, n, BATCH):
            idx = perm[i : i + BATCH]
            x = random_shift(x_all[idx], gen) if AUG_SHIFT else x_all[idx]
            y = y_all[idx]
            scale = lr_scale(step, total, warmup_epochs * steps_per_epoch, lr)
            for group in opt.param_groups:
                group["lr"] = group["base_lr"] * scale
            logits = model(x)
            loss = F.cross_entropy(logits, y, label_smoothing=LABEL_SMOOTHING)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP_GRAD)
            opt.step()
            if anchor is not None:
                with torch.no_grad():
                    anchor.tokens.clamp_(0.0, 1.0)
            step += 1
            running += loss.item() * len(idx)
            correct += int((logits.argmax(1) == y).sum())
        extra = ""
        if anchor is not None:
            extra = f"  anchor spikes {int((anchor.tokens >= 0.5).sum())}/{anchor.tokens.numel()}"
        print(
            f"{tag} epoch {epoch + 1:3d}/{epochs}  loss {running / n:.4f}  "
            f"train-mode acc {correct / n:.4f}  lr {opt.param_groups[0]['lr']:.2e}  "
            f"{time.time() - t0:.0f} s{extra}",
            flush=True,
        )


def export_state(model):
    """The state_dict, every key of the reference's, own contiguous copies; float32 except
    num_batches_tracked (int64)."""
    state = {}
    for k, v in model.state_dict().items():
        v = v.detach().clone().contiguous()
        state[k] = v if k.endswith("num_batches_tracked") else v.to(torch.float32)
    assert all(
        v.dtype == (torch.int64 if k.endswith("num_batches_tracked") else torch.float32)
        for k, v in state.items()
    )
    return state


def reference_logits(weights, token_pruning, x_uint8):
    """Golden logits: a fresh reference Spikformer (no surrogate) loaded strictly from the saved
    file, eval mode, in batches of EVAL_BATCH. Checked: the same bit for bit in batches of 2;
    in batches of 1, the head's input (mean over tokens and T) is the same bit for bit, while
    the head Linear of a single row (a GEMV instead of a GEMM) may round its logits differently:
    the largest such difference is returned."""
    fresh = Spikformer(**CONFIG, token_pruning=token_pruning)
    saved = load_file(str(weights))
    assert set(saved) == set(fresh.state_dict()), "saved keys differ from the reference's"
    fresh.load_state_dict(saved, strict=True)
    features = []
    hook = fresh.head.register_forward_pre_hook(lambda mod, args: features.append(args[0]))
    logits = predict(fresh, x_uint8)
    pooled = torch.cat(features)
    assert torch.equal(predict(fresh, x_uint8, batch=2), logits), "logits depend on the batch size"
    features.clear()
    single = predict(fresh, x_uint8, batch=1)
    hook.remove()
    assert torch.equal(torch.cat(features), pooled), "pooled features depend on the batch size"
    return fresh, logits, float((single - logits).abs().max())


@torch.no_grad()
def test_statistics(model, x_uint8, batch=EVAL_BATCH):
    """Eval mode on the test set: per LIF the spike rate, exact ties (charge H == threshold: they
    spike) and charges within TIE_TOLERANCES of the threshold but not on it; per pruning block the
    selection margin (K-th minus (K+1)-th largest key) over the samples."""
    model.eval()
    for _, lif in model.lif_nodes():
        lif.record = True
    lifs, blocks = {}, {}
    tp = model.token_pruning
    for i in range(0, len(x_uint8), batch):
        _, rec = model(torch.from_numpy(x_uint8[i : i + batch]).float(), return_spikes=True)
        for name, lif in model.lif_nodes():
            s, h, th = rec[name], lif.h_seq, lif.v_threshold
            d = (h - th).abs()
            a = lifs.setdefault(name, dict(threshold=th, spikes=0.0, count=0, exact_ties=0,
                                           **{f"near_{t:g}": 0 for t in TIE_TOLERANCES},
                                           min_nonzero_distance=float("inf")))
            a["spikes"] += float(s.double().sum())
            a["count"] += s.numel()
            a["exact_ties"] += int((h == th).sum())
            for t in TIE_TOLERANCES:
                a[f"near_{t:g}"] += int(((d <= t) & (h != th)).sum())
            if (d > 0).any():
                a["min_nonzero_distance"] = min(a["min_nonzero_distance"], float(d[d > 0].min()))
        for j in (tp["blocks"] if tp else []):
            score = rec[f"block{j}.scores"].double()
            key = selection_keys(score, tp["criterion"])
            M = score.shape[-1]
            K = keep_count(tp["ratio"][j], M)
            b = blocks.setdefault(f"block{j}", {"M": M, "K": K, "keep_ratio": tp["ratio"][j],
                                                "exact_boundary_ties": 0, "exact_ties_different_scores": 0,
                                                "gap_below_1e-6": 0, "gap_below_1e-4": 0,
                                                "min_nonzero_gap": float("inf")})
            if K == M:
                continue
            order = torch.argsort(-key, dim=-1, stable=True)
            for n in range(key.shape[0]):
                v = float(key[n, order[n, K - 1]])
                gap = v - float(key[n, order[n, K]])
                if gap == 0:
                    b["exact_boundary_ties"] += 1
                    tied = (key[n] == v).nonzero().flatten().tolist()
                    cols = [score[:, n, m].tolist() for m in tied]
                    b["exact_ties_different_scores"] += any(c != cols[0] for c in cols)
                else:
                    b["min_nonzero_gap"] = min(b["min_nonzero_gap"], gap)
                    b["gap_below_1e-6"] += gap < 1e-6
                    b["gap_below_1e-4"] += gap < 1e-4
    for _, lif in model.lif_nodes():
        lif.record = False
        lif.h_seq = None
    per_lif = {}
    for name, a in lifs.items():
        rate = a.pop("spikes") / a.pop("count")
        per_lif[name] = dict(rate=round(rate, 4), **a)
    totals = dict(exact_ties=sum(a["exact_ties"] for a in per_lif.values()),
                  **{f"near_{t:g}": sum(a[f"near_{t:g}"] for a in per_lif.values()) for t in TIE_TOLERANCES})
    return per_lif, totals, blocks


def network_json(name, token_pruning, description):
    items = [("format", "snnsim-network"), ("version", 1), ("kind", "layer_graph"), ("description", description),
             ("model", "spikformer"), ("variant", "cifar"), ("embed_dims", CONFIG["embed_dims"]),
             ("depths", CONFIG["depths"]), ("num_heads", CONFIG["num_heads"]), ("mlp_ratio", CONFIG["mlp_ratios"]),
             ("timesteps", CONFIG["T"]), ("classes", CONFIG["classes"]),
             ("input", {"shape": [CONFIG["in_channels"], CONFIG["img_size"], CONFIG["img_size"]]})]
    if token_pruning is not None:
        items.append(("token_pruning", token_pruning))
    items.append(("weights", f"data/{name}.safetensors"))
    return "{\n" + ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in items) + "\n}\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--stata-epochs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "examples")
    parser.add_argument(
        "--report", type=pathlib.Path, default=HERE / "spikformer_digits_report.json"
    )
    args = parser.parse_args()

    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed + 1)  # shuffling and augmentation
    t_start = time.time()

    x_tr, y_tr, x_te, y_te = load_data()
    print(f"train {len(y_tr)}, test {len(y_te)}, input {x_te.shape[1:]} uint8 0..{x_te.max()}")
    data = args.out / "data"
    data.mkdir(parents=True, exist_ok=True)

    # --- base model ---
    model = with_surrogate(Spikformer(**CONFIG))
    t0 = time.time()
    train(model, x_tr, y_tr, args.epochs, BASE_LR, WARMUP_EPOCHS, gen, "base")
    base_time = time.time() - t0
    weights = data / f"{NAME}.safetensors"
    save_file(export_state(model), str(weights))
    fresh, logits_te, base_gemv = reference_logits(weights, None, x_te)
    assert torch.equal(logits_te, predict(model, x_te)), "reloaded model differs"
    base_acc = accuracy(logits_te, y_te)
    base_train_acc = accuracy(predict(fresh, x_tr), y_tr)
    print(f"base, eval mode: train acc {base_train_acc:.4f}, test acc {base_acc:.4f}, {base_time:.0f} s")
    np.save(data / f"{NAME}-input.npy", x_te.astype(np.uint8))
    np.save(data / f"{NAME}-labels.npy", y_te.astype(np.int64))
    np.save(data / f"{NAME}-expected.npy", logits_te.numpy().astype(np.float32))
    base_lifs, base_ties, _ = test_statistics(fresh, x_te)

    # --- STATA: base weights + a new anchor, fine-tuned with pruning active ---
    stata = with_surrogate(Spikformer(**CONFIG, token_pruning=TOKEN_PRUNING))
    missing, unexpected = stata.load_state_dict(load_file(str(weights)), strict=False)
    assert missing == ["anchor.tokens"] and not unexpected, (missing, unexpected)
    anchor_gen = torch.Generator().manual_seed(args.seed + 2)
    with torch.no_grad():
        stata.anchor.tokens.copy_(torch.rand(stata.anchor.tokens.shape, generator=anchor_gen))
    initial_anchor = (stata.anchor.tokens >= 0.5).float()
    print(f"anchor: {int(initial_anchor.sum())}/{initial_anchor.numel()} entries >= 0.5")
    # the base weights with the (binarized) initial anchor, not fine-tuned
    untuned = Spikformer(**CONFIG, token_pruning=TOKEN_PRUNING)
    untuned.load_state_dict({**export_state(model), "anchor.tokens": initial_anchor}, strict=True)
    untuned_acc = accuracy(predict(untuned, x_te), y_te)
    print(f"stata {TOKEN_PRUNING['keep_ratio']} before fine-tuning: test acc {untuned_acc:.4f}")

    t0 = time.time()
    train(stata, x_tr, y_tr, args.stata_epochs, STATA_LR, STATA_WARMUP_EPOCHS, gen, "stata")
    stata_time = time.time() - t0
    with torch.no_grad():
        stata.anchor.tokens.copy_((stata.anchor.tokens >= 0.5).float())  # what eval uses
    final_anchor = stata.anchor.tokens.detach().clone()
    stata_weights = data / f"{STATA_NAME}.safetensors"
    save_file(export_state(stata), str(stata_weights))
    stata_fresh, stata_logits, stata_gemv = reference_logits(stata_weights, TOKEN_PRUNING, x_te)
    assert torch.equal(stata_logits, predict(stata, x_te)), "reloaded STATA model differs"
    stata_acc = accuracy(stata_logits, y_te)
    stata_train_acc = accuracy(predict(stata_fresh, x_tr), y_tr)
    print(f"stata {TOKEN_PRUNING['keep_ratio']}, eval mode: train acc {stata_train_acc:.4f}, "
          f"test acc {stata_acc:.4f}, {stata_time:.0f} s")
    np.save(data / f"{STATA_NAME}-expected.npy", stata_logits.numpy().astype(np.float32))
    stata_lifs, stata_ties, stata_blocks = test_statistics(stata_fresh, x_te)

    by_ratio = {str(TOKEN_PRUNING["keep_ratio"]): stata_acc}
    tokens = {}
    for r in EXTRA_KEEP_RATIOS:
        tp = {**TOKEN_PRUNING, "keep_ratio": r}
        m = Spikformer(**CONFIG, token_pruning=tp)
        m.load_state_dict(load_file(str(stata_weights)), strict=True)
        by_ratio[str(r)] = accuracy(predict(m, x_te), y_te)
        print(f"stata weights at keep ratio {r}: test acc {by_ratio[str(r)]:.4f}")
    for r in sorted({*EXTRA_KEEP_RATIOS, TOKEN_PRUNING["keep_ratio"]}, reverse=True):
        counts, m_ = [], 64
        for _ in TOKEN_PRUNING["blocks"]:
            m_ = keep_count(r, m_)
            counts.append(m_)
        tokens[str(r)] = counts
    by_ratio = {k: by_ratio[k] for k in sorted(by_ratio, key=float, reverse=True)}

    description = (
        "Spikformer, CIFAR variant (Zhou et al., ICLR 2023; embed_dims 64, 3 blocks, 4 heads, "
        "mlp_ratio 4, T 4) for scikit-learn's digits, upsampled by 4 (nearest) to 32x32, one "
        "channel, raw pixel values 0..16 as input. Trained by "
        "tools/reference/train_spikformer_digits.py with a sigmoid surrogate (eval-mode test "
        f"accuracy {100 * base_acc:.1f} % on {len(y_te)} test images)."
    )
    stata_description = (
        "Spikformer, CIFAR variant (embed_dims 64, 3 blocks, 4 heads, mlp_ratio 4, T 4) with STATA "
        "token pruning at blocks 1 and 2, keep ratio 0.7, drop (64 -> 45 -> 32 tokens), for "
        "scikit-learn's digits, upsampled by 4 (nearest) to 32x32, one channel, raw pixel values "
        "0..16 as input. The weights of spikformer-digits.json with a learned anchor, fine-tuned "
        "with pruning by tools/reference/train_spikformer_digits.py (eval-mode test accuracy "
        f"{100 * stata_acc:.1f} % on {len(y_te)} test images)."
    )
    (args.out / f"{NAME}.json").write_text(network_json(NAME, None, description))
    (args.out / f"{STATA_NAME}.json").write_text(network_json(STATA_NAME, TOKEN_PRUNING, stata_description))

    sizes = {
        str(p.relative_to(args.out)): p.stat().st_size
        for p in sorted([args.out / f"{NAME}.json", args.out / f"{STATA_NAME}.json", *data.glob(f"{NAME}*")])
    }
    report = {
        "source": "tools/reference/train_spikformer_digits.py",
        "seed": args.seed,
        "split": "train_test_split(test_size=0.25, random_state=0, stratify=labels), "
        "as tools/reference/train_digit_examples.py",
        "train_samples": int(len(y_tr)),
        "test_samples": int(len(y_te)),
        "config": CONFIG,
        "parameters": sum(p.numel() for p in fresh.parameters()),
        "token_pruning": TOKEN_PRUNING,
        "batch": BATCH,
        "loss": f"CE, label smoothing {LABEL_SMOOTHING}, on head(mean over tokens, mean over T)",
        "surrogate": f"training only: sigmoid, alpha {SURROGATE_ALPHA} (spikingjelly "
        "surrogate.Sigmoid default), detached reset; eval = the reference forward",
        "augmentation": f"random shifts up to {AUG_SHIFT} px (zero fill), training only",
        "base": {
            "epochs": args.epochs,
            "optimizer": f"AdamW lr {BASE_LR} (cosine to {MIN_LR}, {WARMUP_EPOCHS} warmup epochs), "
            f"weight decay {WEIGHT_DECAY} on conv/linear weights, grad clip {CLIP_GRAD}",
            "training_time_s": round(base_time, 1),
            "train_accuracy_eval_mode": base_train_acc,
            "test_accuracy_eval_mode": base_acc,
        },
        "stata": {
            "epochs": args.stata_epochs,
            "optimizer": f"AdamW lr {STATA_LR} (cosine to {MIN_LR}, {STATA_WARMUP_EPOCHS} warmup "
            f"epochs), anchor lr x{ANCHOR_LR_SCALE:g}, no weight decay, clamped to [0, 1]; weight "
            f"decay {WEIGHT_DECAY} on conv/linear weights, grad clip {CLIP_GRAD}",
            "anchor_init": f"U(0, 1) (torch.Generator seed {args.seed + 2}): "
            f"{int(initial_anchor.sum())}/{initial_anchor.numel()} entries >= 0.5",
            "anchor_spikes_final": int(final_anchor.sum()),
            "anchor_entries_flipped": int((final_anchor != initial_anchor).sum()),
            "training_time_s": round(stata_time, 1),
            "test_accuracy_before_finetune_keep_0.7": untuned_acc,
            "train_accuracy_eval_mode_keep_0.7": stata_train_acc,
            "test_accuracy_eval_mode_keep_0.7": stata_acc,
            "test_accuracy_by_keep_ratio": by_ratio,
            "candidates_kept_by_keep_ratio": tokens,
        },
        "total_time_s": round(time.time() - t_start, 1),
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
            "safetensors": safetensors.__version__,
        },
        "golden_logits": f"eval mode, batches of {EVAL_BATCH}; the same bit for bit in batches of 2; "
        "in batches of 1 the pooled features are the same and the head Linear (GEMV) differs by at "
        f"most {base_gemv:.3g} (base) / {stata_gemv:.3g} (stata)",
        "test_ties_note": "eval mode on the test set; exact_ties: charges H exactly at the "
        "threshold (they spike); near_TOL: |H - threshold| <= TOL and H != threshold; pruning "
        "margins: exact_boundary_ties = samples whose K-th and (K+1)-th keys are equal (resolved "
        "by index), gap_below_* = samples whose nonzero K-th minus (K+1)-th key gap is that small",
        "test_ties_base": base_ties,
        "test_ties_stata": stata_ties,
        "test_pruning_stata": stata_blocks,
        "test_lif_base": base_lifs,
        "test_lif_stata": stata_lifs,
        "file_sizes_bytes": sizes,
    }
    args.report.write_text(json.dumps(report, indent=1) + "\n")
    print(f"ties base {base_ties}, stata {stata_ties}; pruning {stata_blocks}")
    for k, v in sizes.items():
        print(f"  {k}: {v} bytes")


if __name__ == "__main__":
    main()
