"""PyTorch reference of Spikformer, ImageNet variant (Zhou et al., ICLR 2023), for snnsim fixtures.

Written from the official ZK-Zhou/spikformer imagenet/model.py (not a copy of it): same module
tree, so `state_dict()` keys, order and shapes are exactly the official Spikformer's, including the
norm1/norm2 LayerNorms of every Block (never called by the official forward) and BatchNorm
num_batches_tracked. Eval mode only (BatchNorm with running statistics); no spikingjelly needed.
The LIF, the anchor tokens and the token pruning are those of spikformer_reference.py (the CIFAR
reference), imported from it.

Differences from the CIFAR variant, as the official imagenet/model.py has them:
  * SPS max-pools (3, 2, 1) after all four LIFs (CIFAR: after the last two), so tokens are
    H/16 x W/16 and rpe runs at H/16;
  * q/k/v are bias-free Conv1d(D, D, 1) (weights [D, D, 1]), proj a Conv1d with bias, the MLP's
    fc1/fc2 Conv2d 1x1 with bias ([hidden, D, 1, 1], [D, hidden, 1, 1]) and BatchNorm2d;
  * the layout is channel-first, [T, B, C, N] (the official code keeps [T, B, C, H, W] between
    blocks and flattens H, W to N inside SSA), and attention is x = (q @ (k^T @ v)) * 0.125, in
    that order (k^T v first; the same integers as (q k^T) v, multiples of 0.125);
  * head(x.flatten(3).mean(3).mean(0)).

Layout and arithmetic follow the official forward step by step (same tensor shapes into every
Conv / BatchNorm / matmul), so that float32 results match it bit for bit on CPU. The one change of
shape: the official MLP runs its 1x1 Conv2d / BatchNorm2d on [TB, C, H', W'], this reference on
[TB, C, N, 1] (the same numbers; needed once tokens are pruned and N is no longer H' x W');
check_spikformer_official.py checks that the results are identical.

  x [B, Cin, H, W] -> repeated T times [T, B, Cin, H, W] (direct encoding)
  SPS: 4 x (conv3x3 BN LIF (sps.lif0..lif3) maxpool(3,2,1)) = x_feat [TB, D, H/16, W/16] ;
       rpe: conv3x3 BN LIF (sps.rpe_lif) ; x = rpe + x_feat ; x.flatten(3) [T, B, D, N]
       (token n = h * W/16 + w)
  Block: x = x + SSA(x) ; x = x + MLP(x)
  SSA: q/k/v = LIF(BN1d(Conv1d(x)))  [TB, C, N] ; heads split from C ([T, B, h, N, C/h]) ;
       y = (q @ (k^T @ v)) * 0.125 ; y = LIF_{th 0.5}(y) ; out = LIF(BN1d(proj Conv1d(y)))
  MLP: LIF(BN2d(fc2(LIF(BN2d(fc1(x)))))) , hidden = mlp_ratios * D
  head(x.mean(3).mean(0))

STATA token sparsification (`token_pruning=`), the contract of /work/notes/stata-contract.md and of
spikformer_reference.py, in channel-first layout: the anchor `anchor.tokens` [T, D] ("stata") or
[1, D] ("evit") is appended as the last token column along N; at a pruning block j, after
x = x + SSA(x) and before the MLP, the scores come from block j's q_lif/k_lif spikes and the
candidates are selected, dropped or fused by spikformer_reference.prune_tokens (on the transposed
[T, B, N, C] rows: every value involved is a small integer, so the transposes are exact); the head
averages every token column but the anchor.

forward(x, return_spikes=True) also returns a dict of every LIF output in snnsim's layouts:
sps.lif0..lif3 [T, B, C, H, W] (before their max-pools), sps.rpe_lif [T, B, D, H/16, W/16], and
block{j}.attn.{q,k,v,attn,proj}_lif, block{j}.mlp.{fc1,fc2}_lif in the TOKEN layout [T, B, N, C]
(token n = h * W/16 + w, the anchor last), plus block{j}.scores float32 [T, B, M] and block{j}.keep
float32 [B, K] at the pruning blocks (as the CIFAR reference records them).
"""

import pathlib
import sys

import torch
import torch.nn as nn

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from spikformer_reference import AnchorTokens, MultiStepLIF, _pruning_config, prune_tokens  # noqa: E402


def _tokens(y):
    """[T, B, C, N] -> snnsim's token layout [T, B, N, C] (a view)."""
    return y.transpose(-1, -2)


class MLP(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1_conv = nn.Conv2d(dim, hidden, kernel_size=1, stride=1)
        self.fc1_bn = nn.BatchNorm2d(hidden)
        self.fc1_lif = MultiStepLIF()
        self.fc2_conv = nn.Conv2d(hidden, dim, kernel_size=1, stride=1)
        self.fc2_bn = nn.BatchNorm2d(dim)
        self.fc2_lif = MultiStepLIF()
        self.hidden = hidden

    def forward(self, x, rec, prefix):
        T, B, C, N = x.shape
        y = self.fc1_conv(x.flatten(0, 1).unsqueeze(-1))  # [TB, C, N, 1]
        y = self.fc1_bn(y).reshape(T, B, self.hidden, N).contiguous()
        y = self.fc1_lif(y)
        rec[prefix + "fc1_lif"] = _tokens(y)
        y = self.fc2_conv(y.flatten(0, 1).unsqueeze(-1))
        y = self.fc2_bn(y).reshape(T, B, C, N).contiguous()
        y = self.fc2_lif(y)
        rec[prefix + "fc2_lif"] = _tokens(y)
        return y


class SSA(nn.Module):
    def __init__(self, dim, num_heads):
        super().__init__()
        assert dim % num_heads == 0
        self.num_heads = num_heads
        self.scale = 0.125
        for name in ("q", "k", "v"):
            setattr(self, f"{name}_conv", nn.Conv1d(dim, dim, kernel_size=1, stride=1, bias=False))
            setattr(self, f"{name}_bn", nn.BatchNorm1d(dim))
            setattr(self, f"{name}_lif", MultiStepLIF())
        self.attn_lif = MultiStepLIF(v_threshold=0.5)
        self.proj_conv = nn.Conv1d(dim, dim, kernel_size=1, stride=1)
        self.proj_bn = nn.BatchNorm1d(dim)
        self.proj_lif = MultiStepLIF()

    def forward(self, x, rec, prefix):
        T, B, C, N = x.shape
        xf = x.flatten(0, 1)  # [TB, C, N]
        heads = {}
        for name in ("q", "k", "v"):
            y = getattr(self, f"{name}_bn")(getattr(self, f"{name}_conv")(xf)).reshape(T, B, C, N).contiguous()
            y = getattr(self, f"{name}_lif")(y)
            rec[prefix + f"{name}_lif"] = _tokens(y)
            heads[name] = (y.transpose(-1, -2).reshape(T, B, N, self.num_heads, C // self.num_heads)
                           .permute(0, 1, 3, 2, 4).contiguous())  # [T, B, h, N, C/h]
        y = heads["k"].transpose(-2, -1) @ heads["v"]  # [T, B, h, C/h, C/h]
        y = (heads["q"] @ y) * self.scale  # [T, B, h, N, C/h]
        y = y.transpose(3, 4).reshape(T, B, C, N).contiguous()
        y = self.attn_lif(y)
        rec[prefix + "attn_lif"] = _tokens(y)
        y = y.flatten(0, 1)
        y = self.proj_lif(self.proj_bn(self.proj_conv(y)).reshape(T, B, C, N))
        rec[prefix + "proj_lif"] = _tokens(y)
        return y


class Block(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)  # in the state_dict, never called
        self.attn = SSA(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim)  # in the state_dict, never called
        self.mlp = MLP(dim, int(dim * mlp_ratio))

    def forward(self, x, rec, prefix, prune=None):
        """x [T, B, C, R]; prune: None, or (keep_ratio, criterion, pruned) to prune before the MLP."""
        x = x + self.attn(x, rec, prefix + "attn.")
        if prune is not None:
            rows = prune_tokens(_tokens(x), rec[prefix + "attn.q_lif"], rec[prefix + "attn.k_lif"], *prune, rec, prefix)
            x = rows.transpose(-1, -2).contiguous()
        x = x + self.mlp(x, rec, prefix + "mlp.")
        return x


class SPS(nn.Module):
    SUFFIXES = ["", "1", "2", "3"]

    def __init__(self, in_channels, embed_dims):
        super().__init__()
        chans = [in_channels, embed_dims // 8, embed_dims // 4, embed_dims // 2, embed_dims]
        for i, sfx in enumerate(self.SUFFIXES):
            setattr(self, f"proj_conv{sfx}", nn.Conv2d(chans[i], chans[i + 1], 3, 1, 1, bias=False))
            setattr(self, f"proj_bn{sfx}", nn.BatchNorm2d(chans[i + 1]))
            setattr(self, f"proj_lif{sfx}", MultiStepLIF())
            setattr(self, f"maxpool{sfx}", nn.MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False))
        self.rpe_conv = nn.Conv2d(embed_dims, embed_dims, 3, 1, 1, bias=False)
        self.rpe_bn = nn.BatchNorm2d(embed_dims)
        self.rpe_lif = MultiStepLIF()

    def forward(self, x, rec):
        T, B, C, H, W = x.shape
        assert H % 16 == 0 and W % 16 == 0, (H, W)
        x = x.flatten(0, 1)
        for i, sfx in enumerate(self.SUFFIXES):
            x = getattr(self, f"proj_conv{sfx}")(x)
            x = getattr(self, f"proj_bn{sfx}")(x).reshape(T, B, -1, H >> i, W >> i).contiguous()
            x = getattr(self, f"proj_lif{sfx}")(x)
            rec[f"sps.lif{i}"] = x
            x = x.flatten(0, 1).contiguous()
            x = getattr(self, f"maxpool{sfx}")(x)
        x_feat = x.reshape(T, B, -1, H // 16, W // 16).contiguous()
        x = self.rpe_conv(x)
        x = self.rpe_bn(x).reshape(T, B, -1, H // 16, W // 16).contiguous()
        x = self.rpe_lif(x)
        rec["sps.rpe_lif"] = x
        x = x + x_feat
        return x.flatten(3)  # [T, B, D, N], token n = h * (W/16) + w


class Spikformer(nn.Module):
    """The ImageNet Spikformer; defaults: the official registered `spikformer` (8-512, 8 heads, 224)."""

    channel_first = True  # blocks run on [T, B, C, N]; the recorded block spikes are [T, B, N, C]
    variant = "imagenet"

    def __init__(self, embed_dims=512, depths=8, num_heads=8, mlp_ratios=4, T=4, in_channels=3,
                 classes=1000, img_size=224, token_pruning=None):
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
        out = [(f"sps.lif{i}", getattr(sps, f"proj_lif{s}")) for i, s in enumerate(SPS.SUFFIXES)]
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
        x = self.patch_embed(x, rec)  # [T, B, D, N]
        tp = self.token_pruning
        if tp is not None:
            T, B, D, _ = x.shape
            a = self.anchor().to(x.dtype)[:, None, :, None].expand(T, B, D, 1)
            x = torch.cat([x, a], 3)  # the anchor is token column N
        for j, blk in enumerate(self.block):
            prune = None
            if tp is not None and j in tp["ratio"]:
                prune = (tp["ratio"][j], tp["criterion"], tp["pruned"])
            if not return_spikes:
                rec.clear()  # nothing kept beyond the block that needs it (pruning reads q_lif / k_lif)
            x = blk(x, rec, f"block{j}.", prune)
        if tp is not None:
            x = x[..., :-1]  # the head averages the candidate tokens only (not the anchor)
        logits = self.head(x.mean(3).mean(0))
        return (logits, rec) if return_spikes else logits
