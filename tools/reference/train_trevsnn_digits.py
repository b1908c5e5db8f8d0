"""Train a small T-RevSNN (trevsnn_reference.TRevSNN, RGB) on scikit-learn's digits and write the
snnsim example examples/trevsnn-digits.json with its weights, test inputs, labels and golden logits.

How to run (from the repository root; torch, numpy, safetensors, scikit-learn; CPU only, about
5 minutes on 2 idle cores, 14 minutes with a build running beside it; nothing is downloaded, the
digits ship with scikit-learn):

    /work/venv-torch/bin/python tools/reference/train_trevsnn_digits.py [--epochs 60] [--seed 0]
        [--out examples] [--report tools/reference/trevsnn_digits_report.json]

Data: sklearn.datasets.load_digits (1797 8x8 images, values 0..16), split as
tools/reference/train_digit_examples.py does: train_test_split(test_size=0.25, random_state=0,
stratify=labels) -> 1347 train, 450 test. Every image is upsampled by 4 with nearest neighbour to
32x32 and replicated to 3 channels (the RGB variant takes [3, H, W]). Pixel values stay 0..16:
the network input is the raw value (snnsim feeds the .npy values directly, no normalisation).
Training augments with random shifts of up to AUG_SHIFT pixels (zero fill); evaluation does not.

Model: TRevSNN(channels [16, 32, 48, 64], T = 4 columns, kernel_size 3, 10 classes), RGB with the
intermediate heads. Trained in train mode (straight-through spike, BatchNorm batch statistics)
with plain autograd and the official loss (loss.py compound_loss_only_cls): the sum over the four
heads of CE(head_i) * (i + 1) / 4, plus CE(head_3); CE with label smoothing 0.1 as in the
official configs/small.yaml. AdamW (weight decay 0.01 on conv weights only), per-step cosine
schedule with a linear warmup. Evaluated in eval mode on head 3 (cls_blocks.3), the official
inference output.

Outputs (--out, default examples/):
  data/trevsnn-digits.safetensors  the eval-ready state_dict exactly as the official FullNet would
                                   save it: every key, including the shared BlockB tail repeated
                                   under every subnet{i} and the training-only heads
                                   cls_blocks.0..2; num_batches_tracked int64, the rest float32;
                                   the alphas already clamped to sign(a) * max(|a|, 1e-3) as the
                                   official forward does in place.
  data/trevsnn-digits-input.npy    uint8 [450, 3, 32, 32], the test images
  data/trevsnn-digits-labels.npy   int64 [450], their labels
  data/trevsnn-digits-expected.npy float32 [450, 10], eval-mode logits of a fresh TRevSNN loaded
                                   from the saved file, on the float32 of the uint8 test images
  trevsnn-digits.json              the snnsim network description
and the report tools/reference/trevsnn_digits_report.json (sizes, epochs, accuracies, time,
seed, spike rates per SN and per column on the test set, ties: SN inputs within 1e-6 / 1e-5 /
1e-4 of the threshold 0.5).

Deterministic: seeded torch and numpy, torch.set_num_threads(2), deterministic algorithms; a
rerun on the same machine and library versions writes the same files.
"""

import argparse
import json
import pathlib
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
from make_trevsnn_fixtures import block_sn_inputs, sn_inputs  # noqa: E402
from trevsnn_reference import ScaledStdConv2d, TRevSNN  # noqa: E402

CHANNELS = [16, 32, 48, 64]
TIMESTEPS = 4
KERNEL_SIZE = 3
CLASSES = 10
UPSAMPLE = 4
AUG_SHIFT = 3  # random training shifts, in pixels of the 32x32 image
BATCH = 64
BASE_LR = 2e-3
WARMUP_EPOCHS = 3
MIN_LR = 1e-5
WEIGHT_DECAY = 0.01
LABEL_SMOOTHING = 0.1
CLIP_GRAD = 5.0
THRESHOLD = 0.5
TIE_TOLERANCES = (1e-6, 1e-5, 1e-4)
NAME = "trevsnn-digits"


def load_data():
    """(x_train, y_train, x_test, y_test): uint8 [N, 3, 32, 32] images 0..16, int64 labels."""
    digits = load_digits()
    images = digits.images.astype(np.uint8)  # [1797, 8, 8], integer values 0..16
    labels = digits.target.astype(np.int64)
    idx_tr, idx_te = train_test_split(
        np.arange(len(labels)), test_size=0.25, random_state=0, stratify=labels
    )
    big = images.repeat(UPSAMPLE, axis=1).repeat(UPSAMPLE, axis=2)  # nearest neighbour
    rgb = np.ascontiguousarray(np.repeat(big[:, None], 3, axis=1))  # [N, 3, 32, 32]
    return rgb[idx_tr], labels[idx_tr], rgb[idx_te], labels[idx_te]


def random_shift(x, gen):
    """Shift every image by its own random (dy, dx) in [-AUG_SHIFT, AUG_SHIFT], zero fill."""
    n, _, h, w = x.shape
    pad = F.pad(x, (AUG_SHIFT,) * 4)
    d = torch.randint(0, 2 * AUG_SHIFT + 1, (n, 2), generator=gen)
    return torch.stack(
        [pad[i, :, d[i, 0] : d[i, 0] + h, d[i, 1] : d[i, 1] + w] for i in range(n)]
    )


def official_loss(heads, targets):
    """loss.py compound_loss_only_cls: sum_i CE(head_i) * (i + 1) / 4 + CE(head_3)."""
    ce = [F.cross_entropy(h, targets, label_smoothing=LABEL_SMOOTHING) for h in heads]
    return sum(l * (i + 1) / len(heads) for i, l in enumerate(ce)) + ce[-1]


def param_groups(model):
    """Weight decay on the conv weights only (not on biases, BatchNorm, gains, gamma, alphas),
    like the official set_weight_decay skips 1-d parameters and biases."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        leaf = name.split(".")[-1]
        (decay if leaf == "weight" and p.dim() == 4 else no_decay).append(p)
    return [
        dict(params=decay, weight_decay=WEIGHT_DECAY),
        dict(params=no_decay, weight_decay=0.0),
    ]


def lr_at(step, total, warmup):
    if step < warmup:
        return BASE_LR * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return MIN_LR + (BASE_LR - MIN_LR) * 0.5 * (1 + np.cos(np.pi * progress))


@torch.no_grad()
def predict(model, x_uint8, batch=256):
    """Eval-mode logits of head 3 on the float32 of the uint8 images."""
    model.eval()
    out = [model(torch.from_numpy(x_uint8[i : i + batch]).float()) for i in range(0, len(x_uint8), batch)]
    return torch.cat(out)


def train(model, x_tr, y_tr, epochs, seed):
    gen = torch.Generator().manual_seed(seed + 1)
    opt = torch.optim.AdamW(param_groups(model), lr=BASE_LR, betas=(0.9, 0.999), eps=1e-8)
    x_all = torch.from_numpy(x_tr).float()
    y_all = torch.from_numpy(y_tr)
    n = len(y_all)
    steps_per_epoch = (n + BATCH - 1) // BATCH
    total = epochs * steps_per_epoch
    step = 0
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        running, correct = 0.0, 0
        for i in range(0, n, BATCH):
            idx = perm[i : i + BATCH]
            x = random_shift(x_all[idx], gen) if AUG_SHIFT else x_all[idx]
            y = y_all[idx]
            for group in opt.param_groups:
                group["lr"] = lr_at(step, total, WARMUP_EPOCHS * steps_per_epoch)
            heads = model.forward_heads(x)
            loss = official_loss(heads, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP_GRAD)
            opt.step()
            step += 1
            running += loss.item() * len(idx)
            correct += int((heads[-1].argmax(1) == y).sum())
        print(
            f"epoch {epoch + 1:3d}/{epochs}  loss {running / n:.4f}  "
            f"train-mode acc {correct / n:.4f}  lr {opt.param_groups[0]['lr']:.2e}",
            flush=True,
        )


def clamp_alphas_(model):
    """The official in-place alpha clamp, applied once more before saving (idempotent)."""
    for column in model.columns():
        column.clamp_alphas_()


def export_state(model):
    """The state_dict as FullNet saves it: every key (shared tensors repeated), own copies."""
    state = {}
    for k, v in model.state_dict().items():
        v = v.detach().clone().contiguous()
        state[k] = v if k.endswith("num_batches_tracked") else v.to(torch.float32)
    assert all(
        v.dtype == (torch.int64 if k.endswith("num_batches_tracked") else torch.float32)
        for k, v in state.items()
    )
    return state


@torch.no_grad()
def spike_statistics(model, x_uint8, batch=150):
    """Per SN (the level-state SNs s{l}, the blocks' sn1/sn2, the head's SN) on the test set, eval
    mode: spike rate, rate per column, ties within TIE_TOLERANCES of 0.5, min |u - 0.5|; and the
    spike rate of each column over all its SNs."""
    model.eval()
    acc = {}
    for i in range(0, len(x_uint8), batch):
        x = torch.from_numpy(x_uint8[i : i + batch]).float()
        _, tensors = model(x, return_intermediates=True)
        inputs = sn_inputs(model, tensors)
        inputs.update(block_sn_inputs(model, x))
        for name, u in inputs.items():
            if u.dim() == 4:  # head.sn: [B, C, H, W], one column
                u = u[None]
            d = (u - THRESHOLD).abs()
            s = (u > THRESHOLD).to(torch.float64)  # eval-mode SN: round(clamp(u, 0, 1))
            a = acc.setdefault(
                name,
                dict(spikes=torch.zeros(u.shape[0], dtype=torch.float64), count=0,
                     ties={t: 0 for t in TIE_TOLERANCES}, min_distance=float("inf")),
            )
            a["spikes"] += s.flatten(1).sum(1)
            a["count"] += u[0].numel()
            for t in TIE_TOLERANCES:
                a["ties"][t] += int((d <= t).sum())
            a["min_distance"] = min(a["min_distance"], float(d.min()))
    head_col = model.head_columns()[3]
    per_sn = {}
    col_spikes = np.zeros(model.timesteps)
    col_count = np.zeros(model.timesteps)
    for name, a in acc.items():
        rates = (a["spikes"] / a["count"]).tolist()
        cols = [head_col] if name == "head.sn" else list(range(model.timesteps))
        for c, sp in zip(cols, a["spikes"].tolist()):
            col_spikes[c] += sp
            col_count[c] += a["count"]
        per_sn[name] = dict(
            rate=round(float(a["spikes"].sum() / (a["count"] * len(cols))), 4),
            column_rates=[round(r, 4) for r in rates],
            **{f"within_{t:g}": a["ties"][t] for t in TIE_TOLERANCES},
            min_distance=a["min_distance"],
        )
    ties = {f"within_{t:g}": sum(a["ties"][t] for a in acc.values()) for t in TIE_TOLERANCES}
    return per_sn, [round(float(r), 4) for r in col_spikes / col_count], ties


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "examples")
    parser.add_argument(
        "--report", type=pathlib.Path, default=HERE / "trevsnn_digits_report.json"
    )
    args = parser.parse_args()

    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    x_tr, y_tr, x_te, y_te = load_data()
    print(f"train {len(y_tr)}, test {len(y_te)}, input {x_te.shape[1:]} uint8 0..{x_te.max()}")

    model = TRevSNN(CHANNELS, TIMESTEPS, KERNEL_SIZE, CLASSES)
    t0 = time.time()
    train(model, x_tr, y_tr, args.epochs, args.seed)
    train_time = time.time() - t0
    clamp_alphas_(model)

    data = args.out / "data"
    data.mkdir(parents=True, exist_ok=True)
    weights = data / f"{NAME}.safetensors"
    save_file(export_state(model), str(weights))

    # Golden logits from the SAVED weights, reloaded into a fresh model.
    fresh = TRevSNN(CHANNELS, TIMESTEPS, KERNEL_SIZE, CLASSES)
    saved = load_file(str(weights))
    assert set(saved) == set(fresh.state_dict())
    fresh.load_state_dict(saved, strict=True)
    fresh.eval()
    logits_te = predict(fresh, x_te)
    logits_tr = predict(fresh, x_tr)
    assert torch.equal(logits_te, predict(model, x_te)), "reloaded model differs"
    test_acc = float((logits_te.argmax(1).numpy() == y_te).mean())
    train_acc = float((logits_tr.argmax(1).numpy() == y_tr).mean())
    print(f"eval mode: train acc {train_acc:.4f}, test acc {test_acc:.4f}, {train_time:.0f} s")

    np.save(data / f"{NAME}-input.npy", x_te.astype(np.uint8))
    np.save(data / f"{NAME}-labels.npy", y_te.astype(np.int64))
    np.save(data / f"{NAME}-expected.npy", logits_te.numpy().astype(np.float32))

    description = (
        "T-RevSNN (Hu et al., ICML 2024; 4 columns, channels 16/32/48/64, kernel 3) for "
        "scikit-learn's digits, upsampled by 4 (nearest) to 32x32 and replicated to 3 channels, "
        "raw pixel values 0..16 as input. Trained by tools/reference/train_trevsnn_digits.py "
        f"with the official multi-head loss (eval-mode test accuracy {100 * test_acc:.1f} % on "
        f"{len(y_te)} test images)."
    )
    network = {
        "format": "snnsim-network",
        "version": 1,
        "kind": "layer_graph",
        "description": description,
        "model": "trevsnn",
        "variant": "tiny",
        "channels": CHANNELS,
        "timesteps": TIMESTEPS,
        "kernel_size": KERNEL_SIZE,
        "classes": CLASSES,
        "input": {"shape": [3, 32, 32]},
        "weights": f"data/{NAME}.safetensors",
    }
    (args.out / f"{NAME}.json").write_text(json.dumps(network, indent=2) + "\n")

    per_sn, column_rates, ties = spike_statistics(fresh, x_te)
    sizes = {
        str(p.relative_to(args.out)): p.stat().st_size
        for p in sorted([args.out / f"{NAME}.json", *data.glob(f"{NAME}*")])
    }
    report = {
        "source": "tools/reference/train_trevsnn_digits.py",
        "seed": args.seed,
        "split": "train_test_split(test_size=0.25, random_state=0, stratify=labels), "
        "as tools/reference/train_digit_examples.py",
        "train_samples": int(len(y_tr)),
        "test_samples": int(len(y_te)),
        "channels": CHANNELS,
        "timesteps": TIMESTEPS,
        "kernel_size": KERNEL_SIZE,
        "epochs": args.epochs,
        "batch": BATCH,
        "optimizer": f"AdamW lr {BASE_LR} (cosine to {MIN_LR}, {WARMUP_EPOCHS} warmup epochs), "
        f"weight decay {WEIGHT_DECAY} on conv weights, grad clip {CLIP_GRAD}",
        "loss": "sum_i CE_ls0.1(head_i) * (i + 1) / 4 + CE_ls0.1(head_3) (official "
        "compound_loss_only_cls)",
        "augmentation": f"random shifts up to {AUG_SHIFT} px (zero fill), training only",
        "train_accuracy_eval_mode": train_acc,
        "test_accuracy_eval_mode": test_acc,
        "training_time_s": round(train_time, 1),
        "torch": torch.__version__,
        "test_spike_rate_per_column": column_rates,
        "test_ties_threshold_0.5": ties,
        "test_sn_note": "eval mode on the test set; s{l} = SN(c{l}) for every column (the "
        "last column's s0..s2 feed nothing), head.sn = SN(c3) of the last column, "
        "level{l}.block{b}.sn1/sn2 = the blocks' SNs; ties count inputs u with |u - 0.5| <= tol; "
        "column rates weight every SN by its number of neurons",
        "test_sn": per_sn,
        "file_sizes_bytes": sizes,
    }
    args.report.write_text(json.dumps(report, indent=1) + "\n")
    print(f"ties {ties}; column spike rates {column_rates}")
    for k, v in sizes.items():
        print(f"  {k}: {v} bytes")


if __name__ == "__main__":
    main()
