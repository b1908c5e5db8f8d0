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
"""

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

    def forward(self, x, rec, prefix):
        x = x + self.attn(x, rec, prefix + "attn.")
        x = x + self.mlp(x, rec, prefix + "mlp.")
        return x


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


class Spikformer(nn.Module):
    def __init__(self, embed_dims=384, depths=4, num_heads=12, mlp_ratios=4, T=4, in_channels=3,
                 classes=10, img_size=32):
        super().__init__()
        self.T = T
        self.img_size = img_size
        self.patch_embed = SPS(in_channels, embed_dims)
        self.block = nn.ModuleList([Block(embed_dims, num_heads, mlp_ratios) for _ in range(depths)])
        self.head = nn.Linear(embed_dims, classes)

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
        for j, blk in enumerate(self.block):
            x = blk(x, rec, f"block{j}.")
        logits = self.head(x.mean(2).mean(0))
        return (logits, rec) if return_spikes else logits
