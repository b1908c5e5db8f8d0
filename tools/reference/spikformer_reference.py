"""PyTorch reference of Spikformer, CIFAR variant (Zhou et al., ICLR 2023), for snnsim fixtures.

Written from the official ZK-Zhou/spikformer cifar10/model.py (not a copy of it): same module tree,
so `state_dict()` keys and shapes are exactly the official Spikformer's, including the norm1/norm2
LayerNorms of every Block, which the official forward never calls, and BatchNorm
num_batches_tracked. Eval mode only (BatchNorm with running statistics); no spikingjelly needed.

Layout and arithmetic follow the official forward step by step (same tensor shapes into every
Linear / BatchNorm / matmul), so that float32 results match it bit for bit on CPU:

  x [B, Cin, H, W] -> repeated T times [T, B, Cin, H, W] (direct encoding)
  SPS: conv3x3 BN LIF (lif0) ; conv3x3 BN LIF (lif1) ; conv3x3 BN LIF (lif2) maxpool(3,2,1) ;
       conv3x3 BN LIF (lif3) maxpool(3,2,1) = x_feat ; rpe: conv3x3 BN LIF (rpe_lif) ; x = rpe + x_feat ;
       tokens [T, B, N, D] = x.flatten(-2).transpose(-1, -2)   (token n = h * W' + w)
  Block: x = x + SSA(x) ; x = x + MLP(x)
  SSA: q/k/v = LIF(BN1d(Linear(x)))  (Linear with bias; BN over channels), heads split from C,
       attn = (q @ k^T) * 0.125 ; y = attn @ v ; y = LIF_{th 0.5}(y) ; out = LIF(BN(proj(y)))
  MLP: LIF(BN(fc2(LIF(BN(fc1(x)))))) , hidden = mlp_ratios * D
  head(x.mean(2).mean(0))

LIF = spikingjelly 0.0.0.0.12 MultiStepLIFNode(tau=2.0, decay_input=True, v_reset=0.0,
detach_reset=True), torch backend, in the same float operation order:
  charge (v_reset == 0 branch of LIFNode.neuronal_charge):  H = V + (X - V) / tau
  fire   (heaviside of H - v_threshold):                    S = (H - v_threshold >= 0)
  reset  (hard, BaseNode.neuronal_reset):                   V = (1 - S) * H + S * v_reset
H - th >= 0 is the same test as H >= th in IEEE float32, so an exact tie H == th spikes.
Every forward starts every LIF from rest (V = 0); the official nodes carry V between calls and
need functional.reset_net() before each batch instead.

STATA token sparsification (optional, `token_pruning=`). This is snnsim's own definition, written
down in /work/notes/stata-contract.md (the contract the C++ side implements too); no official code
of it exists, so this reference is the definition and the C++ must match it bit for bit.
  token_pruning = {"blocks": [j, ...] (0-based, ascending, may be empty),
                   "keep_ratio": r in (0, 1] (one float, or one per listed block),
                   "criterion": "stata" (default) | "evit", "pruned": "drop" (default) | "fuse"}
With it (even with no blocks) the model owns `anchor.tokens` (state_dict key, float32 0/1 spikes,
[T, D] for "stata", [1, D] for "evit", the same row at every t), appended after SPS as the last row
N of the tokens, so blocks run on N' = N + 1 rows; the anchor goes through every block like any
token. In eval the stored values are used as they are; in training mode the parameter p is
binarized with a straight-through estimator (forward (p >= 0.5).float(), gradient identity). Note
that the LIFs here have no surrogate gradient: training needs one.
At a pruning block j, after x = x + SSA(x) and before the MLP, with R rows (the anchor last) and
M = R - 1 candidates, q/k the block's q_lif/k_lif spikes:
  score[t, b, n] = sum_c q[t, b, R-1, c] k[t, b, n, c]   (n < M; integers, exact)
  "stata": per (t, b), float64: mean = sum_n score / M, var = sum_n (score - mean)^2 / M
           (population; both sums left to right over n), z = (score - mean) / (sqrt(var) + 1e-6)
           (IEEE sqrt, correctly rounded),
           key[b, n] = z[0] + z[1] + ... (ascending t, left to right)
  "evit":  key[b, n] = sum_t score[t, b, n]
  K = ceil(r * M) (float64, >= 1); kept = the K largest keys, equal keys: lower index first (stable
  argsort of -key), then ascending; the same set at every t.
  "drop": rows <- kept + [anchor] (K + 1 rows).
  "fuse" (when K < M; K == M is drop): w[b, n] = sum_t score[t, b, n] over the pruned n (1 each if
  they sum to 0), fused[t, b, c] = round(sum w x[t, b, n, c] / sum w) (float64, half to even);
  rows <- kept + [fused] + [anchor] (K + 2 rows).
The MLP of block j and the later blocks run on the new rows. Head: mean over all rows but the last
(the anchor; a fused row is included), then over T, then the head Linear. keep_ratio 1.0 gives the
model with the anchor and no pruning exactly. forward(x, return_spikes=True) also records
block{j}.scores float32 [T, B, M] and block{j}.keep float32 [B, K] (kept indices, ascending).
"""

import math

import torch
import torch.nn as nn


class MultiStepLIF(nn.Module):
    """Multi-step LIF over dim 0 (time). No parameters or buffers (nothing in the state_dict).

    If `record` is set, the charges H [T, ...] of the last forward are kept in `self.h_seq`.
    """

    def __init__(self, tau=2.0, v_threshold=1.0, v_reset=0.0):
        super().__init__()
        self.tau = tau
        self.v_threshold = v_threshold
        self.v_reset = v_reset
        self.record = False
        self.h_seq = None

    def forward(self, x_seq):
        v = torch.full_like(x_seq[0], self.v_reset)
        spikes, charges = [], []
        for t in range(x_seq.shape[0]):
            x = x_seq[t]
            if self.v_reset == 0.0:
                h = v + (x - v) / self.tau
            else:
                h = v + (x - (v - self.v_reset)) / self.tau
            s = (h - self.v_threshold >= 0).to(h.dtype)
            v = (1.0 - s) * h + s * self.v_reset
            spikes.append(s)
            if self.record:
                charges.append(h)
        if self.record:
            self.h_seq = torch.stack(charges, 0)
        return torch.stack(spikes, 0)


def _bn_tokens(bn, y, shape):
    """BatchNorm1d over the channel axis of [TB, N, C] (via [TB, C, N]), reshaped to `shape`."""
    return bn(y.transpose(-1, -2)).transpose(-1, -2).reshape(shape).contiguous()


class MLP(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1_linear = nn.Linear(dim, hidden)
        self.fc1_bn = nn.BatchNorm1d(hidden)
        self.fc1_lif = MultiStepLIF()
        self.fc2_linear = nn.Linear(hidden, dim)
        self.fc2_bn = nn.BatchNorm1d(dim)
        self.fc2_lif = MultiStepLIF()
        self.hidden = hidden

    def forward(self, x, rec, prefix):
        T, B, N, C = x.shape
        y = _bn_tokens(self.fc1_bn, self.fc1_linear(x.flatten(0, 1)), (T, B, N, self.hidden))
        y = self.fc1_lif(y)
        rec[prefix + "fc1_lif"] = y
        y = _bn_tokens(self.fc2_bn, self.fc2_linear(y.flatten(0, 1)), (T, B, N, C))
        y = self.fc2_lif(y)
        rec[prefix + "fc2_lif"] = y
        return y


class SSA(nn.Module):
    def __init__(self, dim, num_heads):
        super().__init__()
        assert dim % num_heads == 0
        self.num_heads = num_heads
        self.scale = 0.125
        for name in ("q", "k", "v"):
            setattr(self, f"{name}_linear", nn.Linear(dim, dim))
            setattr(self, f"{name}_bn", nn.BatchNorm1d(dim))
            setattr(self, f"{name}_lif", MultiStepLIF())
        self.attn_lif = MultiStepLIF(v_threshold=0.5)
        self.proj_linear = nn.Linear(dim, dim)
        self.proj_bn = nn.BatchNorm1d(dim)
        self.proj_lif = MultiStepLIF()

    def forward(self, x, rec, prefix):
        T, B, N, C = x.shape
        xf = x.flatten(0, 1)  # [TB, N, C]
        heads = {}
        for name in ("q", "k", "v"):
            y = _bn_tokens(getattr(self, f"{name}_bn"), getattr(self, f"{name}_linear")(xf), (T, B, N, C))
            y = getattr(self, f"{name}_lif")(y)
            rec[prefix + f"{name}_lif"] = y
            heads[name] = y.reshape(T, B, N, self.num_heads, C // self.num_heads).permute(0, 1, 3, 2, 4).contiguous()
        attn = (heads["q"] @ heads["k"].transpose(-2, -1)) * self.scale  # [T, B, h, N, N]
        y = attn @ heads["v"]  # [T, B, h, N, C/h]
        y = y.transpose(2, 3).reshape(T, B, N, C).contiguous()
        y = self.attn_lif(y)
        rec[prefix + "attn_lif"] = y
        y = y.flatten(0, 1)
        y = self.proj_lif(self.proj_bn(self.proj_linear(y).transpose(-1, -2)).transpose(-1, -2).reshape(T, B, N, C))
        rec[prefix + "proj_lif"] = y
        return y


class Block(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)  # in the state_dict, never called
        self.attn = SSA(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim)  # in the state_dict, never called
        self.mlp = MLP(dim, int(dim * mlp_ratio))

    def forward(self, x, rec, prefix, prune=None):
        """prune: None, or (keep_ratio, criterion, pruned) to prune the tokens before the MLP."""
        x = x + self.attn(x, rec, prefix + "attn.")
        if prune is not None:
            x = prune_tokens(x, rec[prefix + "attn.q_lif"], rec[prefix + "attn.k_lif"], *prune, rec, prefix)
        x = x + self.mlp(x, rec, prefix + "mlp.")
        return x


def anchor_scores(q, k):
    """score[t, b, n] = sum_c q[t, b, R-1, c] k[t, b, n, c] for the M = R-1 candidates, float64 [T, B, M]
    (q, k binary [T, B, R, D]: integer counts, exact)."""
    return (q[:, :, -1:, :].double() * k[:, :, :-1, :].double()).sum(-1)


def selection_keys(score, criterion):
    """The key [B, M] (float64) by which candidates are kept, from score [T, B, M] (float64)."""
    if criterion == "evit":
        return score.sum(0)  # integers, exact
    T, _, M = score.shape
    total = torch.zeros_like(score[..., 0])
    for n in range(M):  # left to right over n
        total = total + score[..., n]
    mean = total / M
    var = torch.zeros_like(total)
    for n in range(M):
        d = score[..., n] - mean
        var = var + d * d
    var = var / M
    # IEEE (correctly rounded) sqrt, as std::sqrt: torch.sqrt of float64 on CPU may be 1 ulp off
    sd = torch.tensor([math.sqrt(v) for v in var.flatten().tolist()], dtype=torch.float64).reshape(var.shape)
    z = (score - mean[..., None]) / (sd[..., None] + 1e-6)
    key = z[0]
    for t in range(1, T):  # ascending t
        key = key + z[t]
    return key


def keep_count(keep_ratio, m):
    k = math.ceil(float(keep_ratio) * m)
    assert 1 <= k <= m, (keep_ratio, m, k)
    return k


def select_tokens(key, k):
    """The k largest keys per sample (equal keys: lower index first), ascending indices [B, k]."""
    order = torch.argsort(-key, dim=-1, stable=True)
    return torch.sort(order[:, :k], dim=-1).values


def prune_tokens(x, q, k, keep_ratio, criterion, pruned, rec, prefix):
    """x [T, B, R, D] (the anchor last) -> [T, B, K + 1 (+ 1 fused), D]."""
    T, B, R, D = x.shape
    M = R - 1
    score = anchor_scores(q, k)
    K = keep_count(keep_ratio, M)
    kept = select_tokens(selection_keys(score, criterion), K)  # [B, K]
    rec[prefix + "scores"] = score.float()
    rec[prefix + "keep"] = kept.float()
    rows = [torch.gather(x, 2, kept[None, :, :, None].expand(T, B, K, D))]
    if pruned == "fuse" and K < M:
        mask = torch.ones(B, M, dtype=torch.bool)
        mask.scatter_(1, kept, False)  # True at the pruned candidates
        w = torch.where(mask, score.sum(0), torch.zeros((), dtype=torch.float64))  # [B, M]
        w = torch.where((w.sum(-1, keepdim=True) == 0) & mask, torch.ones((), dtype=torch.float64), w)
        num = (w[None, :, :, None] * x[:, :, :M, :].double()).sum(2)  # [T, B, D], exact integers
        fused = torch.round(num / w.sum(-1)[None, :, None])
        rows.append(fused.to(x.dtype)[:, :, None, :])
    rows.append(x[:, :, M:, :])
    return torch.cat(rows, 2)


class SPS(nn.Module):
    def __init__(self, in_channels, embed_dims):
        super().__init__()
        chans = [in_channels, embed_dims // 8, embed_dims // 4, embed_dims // 2, embed_dims]
        suffixes = ["", "1", "2", "3"]
        for i, sfx in enumerate(suffixes):
            setattr(self, f"proj_conv{sfx}", nn.Conv2d(chans[i], chans[i + 1], 3, 1, 1, bias=False))
            setattr(self, f"proj_bn{sfx}", nn.BatchNorm2d(chans[i + 1]))
            setattr(self, f"proj_lif{sfx}", MultiStepLIF())
        self.maxpool2 = nn.MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)
        self.maxpool3 = nn.MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)
        self.rpe_conv = nn.Conv2d(embed_dims, embed_dims, 3, 1, 1, bias=False)
        self.rpe_bn = nn.BatchNorm2d(embed_dims)
        self.rpe_lif = MultiStepLIF()

    def forward(self, x, rec):
        T, B, C, H, W = x.shape
        x = x.flatten(0, 1)
        for i, sfx in enumerate(["", "1", "2", "3"]):
            h, w = (H, W) if i < 3 else (H // 2, W // 2)
            x = getattr(self, f"proj_bn{sfx}")(getattr(self, f"proj_conv{sfx}")(x)).reshape(T, B, -1, h, w).contiguous()
            x = getattr(self, f"proj_lif{sfx}")(x)
            rec[f"sps.lif{i}"] = x
            x = x.flatten(0, 1).contiguous()
            if i == 2:
                x = self.maxpool2(x)
            elif i == 3:
                x = self.maxpool3(x)
        x_feat = x.reshape(T, B, -1, H // 4, W // 4).contiguous()
        x = self.rpe_bn(self.rpe_conv(x)).reshape(T, B, -1, H // 4, W // 4).contiguous()
        x = self.rpe_lif(x)
        rec["sps.rpe_lif"] = x
        x = x + x_feat
        return x.flatten(-2).transpose(-1, -2)  # [T, B, N, D], token n = h * (W/4) + w


class AnchorTokens(nn.Module):
    """The anchor rows `tokens` [T or 1, D] (state_dict key anchor.tokens): the stored 0/1 values in
    eval; in training a float parameter binarized with a straight-through step."""

    def __init__(self, rows, dim):
        super().__init__()
        self.tokens = nn.Parameter(torch.zeros(rows, dim))

    def forward(self):
        p = self.tokens
        if not self.training:
            return p
        return (p >= 0.5).to(p.dtype) + (p - p.detach())  # forward exactly 0/1, gradient identity


class Spikformer(nn.Module):
    def __init__(self, embed_dims=384, depths=4, num_heads=12, mlp_ratios=4, T=4, in_channels=3,
                 classes=10, img_size=32, token_pruning=None):
        super().__init__()
        self.T = T
        self.img_size = img_size
        self.patch_embed = SPS(in_channels, embed_dims)
        self.block = nn.ModuleList([Block(embed_dims, num_heads, mlp_ratios) for _ in range(depths)])
        self.head = nn.Linear(embed_dims, classes)
        self.token_pruning = None if token_pruning is None else _pruning_config(token_pruning, depths)
        if self.token_pruning is not None:
            rows = T if self.token_pruning["criterion"] == "stata" else 1
            self.anchor = AnchorTokens(rows, embed_dims)

    def lif_nodes(self):
        """(snnsim name, module) for every LIF, in forward order."""
        sps = self.patch_embed
        out = [(f"sps.lif{i}", getattr(sps, f"proj_lif{s}")) for i, s in enumerate(["", "1", "2", "3"])]
        out.append(("sps.rpe_lif", sps.rpe_lif))
        for j, blk in enumerate(self.block):
            for n in ("q_lif", "k_lif", "v_lif", "attn_lif", "proj_lif"):
                out.append((f"block{j}.attn.{n}", getattr(blk.attn, n)))
            for n in ("fc1_lif", "fc2_lif"):
                out.append((f"block{j}.mlp.{n}", getattr(blk.mlp, n)))
        return out

    def forward(self, x, return_spikes=False):
        """x [B, Cin, H, W] -> logits [B, classes] (and, if asked, a dict name -> spikes [T, ...])."""
        rec = {}
        x = x.unsqueeze(0).repeat(self.T, 1, 1, 1, 1)
        x = self.patch_embed(x, rec)
        tp = self.token_pruning
        if tp is not None:
            T, B, _, D = x.shape
            a = self.anchor().to(x.dtype)[:, None, None, :].expand(T, B, 1, D)
            x = torch.cat([x, a], 2)  # the anchor is row N
        for j, blk in enumerate(self.block):
            prune = None
            if tp is not None and j in tp["ratio"]:
                prune = (tp["ratio"][j], tp["criterion"], tp["pruned"])
            x = blk(x, rec, f"block{j}.", prune)
        if tp is not None:
            x = x[:, :, :-1]  # the head averages the candidate rows only (not the anchor)
        logits = self.head(x.mean(2).mean(0))
        return (logits, rec) if return_spikes else logits


def _pruning_config(tp, depths):
    """Checked copy of a token_pruning dict, with ratio: {block: keep_ratio}."""
    unknown = set(tp) - {"blocks", "keep_ratio", "criterion", "pruned"}
    assert not unknown, f"token_pruning: unknown keys {sorted(unknown)}"
    blocks = [int(j) for j in tp.get("blocks", [])]
    assert all(0 <= j < depths for j in blocks) and blocks == sorted(set(blocks)), blocks
    r = tp.get("keep_ratio", 1.0)
    ratios = [float(v) for v in r] if isinstance(r, (list, tuple)) else [float(r)] * len(blocks)
    assert len(ratios) == len(blocks) and all(0.0 < v <= 1.0 for v in ratios), (blocks, r)
    criterion = tp.get("criterion", "stata")
    pruned = tp.get("pruned", "drop")
    assert criterion in ("stata", "evit") and pruned in ("drop", "fuse"), (criterion, pruned)
    return dict(blocks=blocks, keep_ratio=r, criterion=criterion, pruned=pruned, ratio=dict(zip(blocks, ratios)))
