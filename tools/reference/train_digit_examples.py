#!/usr/bin/env python3
"""Train two small ReLU ANNs on scikit-learn's 8x8 digits, convert them to
spiking networks (Rueckauer et al. 2017 data-based normalisation) and write
example weights, inputs and golden SNN outputs for snnsim.

How to run (from the repository root):

    python3 -m venv tools/reference/.venv
    tools/reference/.venv/bin/pip install numpy scikit-learn
    tools/reference/.venv/bin/python tools/reference/train_digit_examples.py

Only NumPy and scikit-learn are used (the digits data set ships with
scikit-learn, so nothing is downloaded). Everything is seeded, so a rerun
produces the same files.

Outputs:
    examples/data/linear-snn.safetensors   fc1.weight [128,64], fc1.bias [128],
                                           fc2.weight [10,128], fc2.bias [10]
    examples/data/conv-snn.safetensors     conv1.weight [8,1,3,3], conv1.bias [8],
                                           conv2.weight [16,8,3,3], conv2.bias [16],
                                           fc.weight [10,256], fc.bias [10]
    examples/data/linear-snn-input.npy     float32 [32,64]   (pixels / 16)
    examples/data/conv-snn-input.npy       float32 [32,1,8,8]
    examples/data/digits-labels.npy        int64 [32]
    examples/data/linear-snn-expected.npy  float32 [32,10]  mean fc2 output over T
    examples/data/conv-snn-expected.npy    float32 [32,10]  mean fc output over T
    tools/reference/digit_examples_report.json

SNN semantics simulated here (and expected from snnsim):
  * direct input encoding: the analog input x is presented at every timestep;
  * every layer applies its linear operation (bias added at every timestep);
  * IF neurons: v = 0 at start; h = v + input; s = (h >= 1.0); v = h - 1.0 if
    s else h (soft reset); output s. All in float32, in exactly this order;
  * linear SNN: x -> fc1 -> IF -> fc2
    conv SNN:   x -> conv1 -> IF -> conv2 -> avgpool 2x2 -> IF -> flatten -> fc
  * output = mean over T timesteps of the last layer's output.

Normalisation: lambda_l is the 99.9th percentile of the non-zero ReLU
activations of layer l over the whole training set (as in the SNN toolbox);
lambda_0 = 1 for the input (already in [0, 1]). W_l *= lambda_{l-1}/lambda_l,
b_l /= lambda_l; the analog output layer uses lambda_l = 1.
"""

import json
import os
import struct

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA_DIR = os.path.join(ROOT, "examples", "data")
REPORT = os.path.join(ROOT, "tools", "reference", "digit_examples_report.json")
SOURCE = "tools/reference/train_digit_examples.py"
T_CHOICES = (4, 8, 16, 32)
N_EXAMPLES = 32
PERCENTILE = 99.9


# ----------------------------------------------------------------------------
# I/O
# ----------------------------------------------------------------------------

def write_safetensors(path, tensors):
    """tensors: list of (name, ndarray). Written as F32, in the given order."""
    header = {}
    blobs = []
    offset = 0
    for name, arr in tensors:
        data = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {
            "dtype": "F32",
            "shape": list(arr.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"source": SOURCE}
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((-(8 + len(hjson))) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + b:8 + n + e], dtype="<f4").reshape(info["shape"])
    return out


# ----------------------------------------------------------------------------
# Layers (NumPy, any float dtype)
# ----------------------------------------------------------------------------

def im2col3x3(x):
    """x [N,C,H,W] -> cols [N, H*W, C*9] for a 3x3 kernel, stride 1, pad 1.
    Column index is c*9 + kh*3 + kw, matching weight layout [O, C, kh, kw]."""
    n, c, h, w = x.shape
    xp = np.zeros((n, c, h + 2, w + 2), dtype=x.dtype)
    xp[:, :, 1:-1, 1:-1] = x
    cols = np.empty((n, c, 3, 3, h, w), dtype=x.dtype)
    for kh in range(3):
        for kw in range(3):
            cols[:, :, kh, kw] = xp[:, :, kh:kh + h, kw:kw + w]
    return cols.reshape(n, c * 9, h * w).transpose(0, 2, 1)


def col2im3x3(dcols, shape):
    n, c, h, w = shape
    d = dcols.transpose(0, 2, 1).reshape(n, c, 3, 3, h, w)
    dxp = np.zeros((n, c, h + 2, w + 2), dtype=dcols.dtype)
    for kh in range(3):
        for kw in range(3):
            dxp[:, :, kh:kh + h, kw:kw + w] += d[:, :, kh, kw]
    return dxp[:, :, 1:-1, 1:-1]


def conv3x3(x, w, b):
    """PyTorch-style cross-correlation, stride 1, zero padding 1."""
    n, _, h, wd = x.shape
    o = w.shape[0]
    cols = im2col3x3(x)
    out = cols @ w.reshape(o, -1).T + b  # [N, HW, O]
    return out.transpose(0, 2, 1).reshape(n, o, h, wd)


def avgpool2(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).mean(axis=(3, 5)).astype(x.dtype)


def softmax_xent(logits, y):
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    n = len(y)
    loss = -np.log(p[np.arange(n), y] + 1e-12).mean()
    d = p.copy()
    d[np.arange(n), y] -= 1.0
    return loss, d / n


class Adam:
    def __init__(self, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, wd=0.0):
        self.params = params
        self.lr, self.b1, self.b2, self.eps, self.wd = lr, b1, b2, eps, wd
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0

    def step(self, grads):
        self.t += 1
        for k, g in grads.items():
            if self.wd and k.endswith("weight"):
                g = g + self.wd * self.params[k]
            self.m[k] = self.b1 * self.m[k] + (1 - self.b1) * g
            self.v[k] = self.b2 * self.v[k] + (1 - self.b2) * g * g
            mh = self.m[k] / (1 - self.b1 ** self.t)
            vh = self.v[k] / (1 - self.b2 ** self.t)
            self.params[k] -= self.lr * mh / (np.sqrt(vh) + self.eps)


# ----------------------------------------------------------------------------
# Models (ANN forward / backward in float64)
# ----------------------------------------------------------------------------

def kaiming(rng, shape, fan_in):
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)


def init_linear(rng):
    return {
        "fc1.weight": kaiming(rng, (128, 64), 64),
        "fc1.bias": np.zeros(128),
        "fc2.weight": kaiming(rng, (10, 128), 128) * 0.5,
        "fc2.bias": np.zeros(10),
    }


def linear_forward(p, x, cache=False):
    a1 = x @ p["fc1.weight"].T + p["fc1.bias"]
    r1 = np.maximum(a1, 0)
    out = r1 @ p["fc2.weight"].T + p["fc2.bias"]
    if cache:
        return out, (x, a1, r1)
    return out, [r1]


def linear_backward(p, cache, dout):
    x, a1, r1 = cache
    g = {}
    g["fc2.weight"] = dout.T @ r1
    g["fc2.bias"] = dout.sum(0)
    dr1 = dout @ p["fc2.weight"]
    da1 = dr1 * (a1 > 0)
    g["fc1.weight"] = da1.T @ x
    g["fc1.bias"] = da1.sum(0)
    return g


def init_conv(rng):
    return {
        "conv1.weight": kaiming(rng, (8, 1, 3, 3), 9),
        "conv1.bias": np.zeros(8),
        "conv2.weight": kaiming(rng, (16, 8, 3, 3), 72),
        "conv2.bias": np.zeros(16),
        "fc.weight": kaiming(rng, (10, 256), 256) * 0.5,
        "fc.bias": np.zeros(10),
    }


def conv_forward(p, x, cache=False):
    a1 = conv3x3(x, p["conv1.weight"], p["conv1.bias"])
    r1 = np.maximum(a1, 0)
    a2 = conv3x3(r1, p["conv2.weight"], p["conv2.bias"])
    pl = avgpool2(a2)
    r2 = np.maximum(pl, 0)
    f = r2.reshape(len(x), -1)
    out = f @ p["fc.weight"].T + p["fc.bias"]
    if cache:
        return out, (x, a1, r1, pl, f)
    return out, [r1, r2]


def conv_backward(p, cache, dout):
    x, a1, r1, pl, f = cache
    n = len(x)
    g = {}
    g["fc.weight"] = dout.T @ f
    g["fc.bias"] = dout.sum(0)
    df = (dout @ p["fc.weight"]).reshape(pl.shape)
    dpl = df * (pl > 0)
    da2 = np.repeat(np.repeat(dpl, 2, axis=2), 2, axis=3) * 0.25
    # conv2
    cols2 = im2col3x3(r1)                              # [N, 64, 72]
    d2 = da2.reshape(n, 16, -1).transpose(0, 2, 1)     # [N, 64, 16]
    g["conv2.weight"] = np.einsum("npo,npk->ok", d2, cols2).reshape(16, 8, 3, 3)
    g["conv2.bias"] = d2.sum(axis=(0, 1))
    dr1 = col2im3x3(d2 @ p["conv2.weight"].reshape(16, -1), r1.shape)
    da1 = dr1 * (a1 > 0)
    cols1 = im2col3x3(x)
    d1 = da1.reshape(n, 8, -1).transpose(0, 2, 1)
    g["conv1.weight"] = np.einsum("npo,npk->ok", d1, cols1).reshape(8, 1, 3, 3)
    g["conv1.bias"] = d1.sum(axis=(0, 1))
    return g


def train(params, forward, backward, x, y, rng, epochs, lr, batch=64, wd=1e-4):
    opt = Adam(params, lr=lr, wd=wd)
    n = len(x)
    for ep in range(epochs):
        # cosine learning-rate decay
        opt.lr = lr * 0.5 * (1 + np.cos(np.pi * ep / epochs))
        perm = rng.permutation(n)
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            out, cache = forward(params, x[idx], cache=True)
            _, dout = softmax_xent(out, y[idx])
            opt.step(backward(params, cache, dout))
    return params


def accuracy(logits, y):
    return float((logits.argmax(axis=1) == y).mean())


# ----------------------------------------------------------------------------
# Conversion
# ----------------------------------------------------------------------------

def pct(act):
    a = act.ravel()
    a = a[a > 0]
    return float(np.percentile(a, PERCENTILE)) if a.size else 1.0


def convert(params, layers, acts):
    """layers: list of (weight_name, bias_name); acts: ReLU activations of all
    but the last layer. Returns float32 converted parameters and lambdas."""
    lambdas = [pct(a) for a in acts] + [1.0]
    out = {}
    prev = 1.0
    for (wn, bn), lam in zip(layers, lambdas):
        out[wn] = (params[wn] * (prev / lam)).astype(np.float32)
        out[bn] = (params[bn] / lam).astype(np.float32)
        prev = lam
    return out, lambdas[:-1]


# ----------------------------------------------------------------------------
# SNN simulation (float32)
# ----------------------------------------------------------------------------

class IF:
    def __init__(self):
        self.v = None

    def __call__(self, x):
        if self.v is None:
            self.v = np.zeros_like(x, dtype=np.float32)
        h = self.v + x
        s = h >= np.float32(1.0)
        self.v = np.where(s, h - np.float32(1.0), h).astype(np.float32)
        return s.astype(np.float32)


def f32_linear(x, w, b):
    return (x @ w.T + b).astype(np.float32)


def f32_conv(x, w, b):
    n, _, h, wd = x.shape
    o = w.shape[0]
    cols = im2col3x3(x)
    out = np.matmul(cols, w.reshape(o, -1).T) + b
    return out.transpose(0, 2, 1).reshape(n, o, h, wd).astype(np.float32)


def f32_avgpool2(x):
    n, c, h, w = x.shape
    r = x.reshape(n, c, h // 2, 2, w // 2, 2)
    s = ((r[:, :, :, 0, :, 0] + r[:, :, :, 0, :, 1]) + r[:, :, :, 1, :, 0]) + r[:, :, :, 1, :, 1]
    return (s * np.float32(0.25)).astype(np.float32)


def snn_linear(p, x, T):
    x = x.astype(np.float32)
    if1 = IF()
    acc = np.zeros((len(x), 10), dtype=np.float32)
    for _ in range(T):
        s = if1(f32_linear(x, p["fc1.weight"], p["fc1.bias"]))
        acc += f32_linear(s, p["fc2.weight"], p["fc2.bias"])
    return (acc / np.float32(T)).astype(np.float32)


def snn_conv(p, x, T):
    x = x.astype(np.float32)
    if1, if2 = IF(), IF()
    acc = np.zeros((len(x), 10), dtype=np.float32)
    for _ in range(T):
        s1 = if1(f32_conv(x, p["conv1.weight"], p["conv1.bias"]))
        a2 = f32_avgpool2(f32_conv(s1, p["conv2.weight"], p["conv2.bias"]))
        s2 = if2(a2)
        acc += f32_linear(s2.reshape(len(x), -1), p["fc.weight"], p["fc.bias"])
    return (acc / np.float32(T)).astype(np.float32)


# ----------------------------------------------------------------------------

def main():
    digits = load_digits()
    x_all = digits.data / 16.0
    y_all = digits.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x_all, y_all, test_size=0.25, random_state=0, stratify=y_all)
    img_tr = x_tr.reshape(-1, 1, 8, 8)
    img_te = x_te.reshape(-1, 1, 8, 8)

    os.makedirs(DATA_DIR, exist_ok=True)
    report = {"train_samples": int(len(x_tr)), "test_samples": int(len(x_te)),
              "percentile": PERCENTILE, "models": {}}

    specs = [
        ("linear", init_linear, linear_forward, linear_backward, x_tr, x_te,
         [("fc1.weight", "fc1.bias"), ("fc2.weight", "fc2.bias")],
         snn_linear, 200, 2e-3),
        ("conv", init_conv, conv_forward, conv_backward, img_tr, img_te,
         [("conv1.weight", "conv1.bias"), ("conv2.weight", "conv2.bias"),
          ("fc.weight", "fc.bias")],
         snn_conv, 120, 3e-3),
    ]
    for seed, (name, init, fwd, bwd, xtr, xte, layers, snn, epochs, lr) in enumerate(specs):
        rng = np.random.default_rng(seed)
        params = train(init(rng), fwd, bwd, xtr, y_tr, rng, epochs, lr)
        ann_acc = accuracy(fwd(params, xte)[0], y_te)
        ann_train_acc = accuracy(fwd(params, xtr)[0], y_tr)
        _, acts = fwd(params, xtr)
        conv_p, lambdas = convert(params, layers, acts)
        conv_ann_acc = accuracy(fwd({k: v.astype(np.float64) for k, v in conv_p.items()}, xte)[0], y_te)

        snn_acc = {}
        for T in T_CHOICES:
            snn_acc[str(T)] = accuracy(snn(conv_p, xte, T), y_te)
        chosen = next((T for T in T_CHOICES if snn_acc[str(T)] >= ann_acc - 0.02), T_CHOICES[-1])
        print(f"{name}: ANN test acc {ann_acc:.4f} (train {ann_train_acc:.4f}, "
              f"converted ANN {conv_ann_acc:.4f}), lambdas {lambdas}")
        print(f"{name}: SNN test acc {snn_acc} -> T = {chosen}")

        write_safetensors(os.path.join(DATA_DIR, f"{name}-snn.safetensors"),
                          [(k, conv_p[k]) for pair in layers for k in pair])
        back = read_safetensors(os.path.join(DATA_DIR, f"{name}-snn.safetensors"))
        assert all(np.array_equal(back[k], conv_p[k]) for k in conv_p)

        inp = xte[:N_EXAMPLES].astype(np.float32)
        np.save(os.path.join(DATA_DIR, f"{name}-snn-input.npy"), inp)
        np.save(os.path.join(DATA_DIR, f"{name}-snn-expected.npy"), snn(conv_p, inp, chosen))

        report["models"][name] = {
            "ann_test_accuracy": ann_acc,
            "ann_train_accuracy": ann_train_acc,
            "converted_ann_test_accuracy": conv_ann_acc,
            "snn_test_accuracy": snn_acc,
            "chosen_T": chosen,
            "lambdas": lambdas,
            "epochs": epochs,
        }

    np.save(os.path.join(DATA_DIR, "digits-labels.npy"), y_te[:N_EXAMPLES].astype(np.int64))
    with open(REPORT, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
