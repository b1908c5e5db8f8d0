"""PyTorch reference of the Spike-driven Transformer (Yao et al., NeurIPS 2023), for snnsim fixtures.

Written from the official BICLab/Spike-Driven-Transformer code (model/spikeformer.py, module/sps.py,
module/ms_conv.py), not a copy of it, for the configuration the CIFAR / ImageNet runs use:
spike_mode "lif", not dvs (no Erode pooling), not TET (logits averaged over T), eval mode
(BatchNorm with running statistics), DropPath identity. The same module tree as the official
SpikeDrivenTransformer, so `state_dict()` keys, order and shapes equal the official model's,
including block.{j}.attn.talking_heads.weight (a Conv1d the official forward never calls) and
BatchNorm num_batches_tracked. The parameterless official modules that the forward never calls
(patch_embed.rpe_lif, block.{j}.attn.attn_lif) are kept too; they hold nothing in the state_dict.
The attention mode ("direct_xor" by default in the official code) is stored there but never read
by the forward: the forward below is the one the official code runs for every mode.

Every tensor goes through the same operations in the same layout as in the official forward
(the same shapes into every Conv / BatchNorm / max-pool / mean), so float32 results equal it bit
for bit on CPU:

  x [B, Cin, H, W] -> repeated T times [T, B, Cin, H, W] (direct encoding)
  SPS (MS_SPS), on [T*B, C, H, W]:
     conv3x3 BN LIF (lif0) [pool if pooling_stat[0] == "1"] ;
     conv3x3 BN LIF (lif1) [pool if pooling_stat[1]] ; conv3x3 BN LIF (lif2) [pool if pooling_stat[2]] ;
     conv3x3 BN [pool if pooling_stat[3]: on the analog BN output] = x_feat ;
     LIF (lif3) ; x = BN(rpe_conv3x3(lif3)) + x_feat     (analog; rpe_lif is never called)
     pool = MaxPool2d(3, 2, 1); no bias in any SPS conv
  Block (MS_Block_Conv): x = SDSA(x) ; x = MLP(x), each adding to its input (membrane shortcut)
  SDSA (MS_SSA_Conv), x [T, B, C, H, W], N = H W, heads h, d = C / h:
     s = shortcut_lif(x) ; q/k/v = LIF(BN(conv1x1(s)))  (no bias), split as [T, B, h, N, d]
     kv = talking_heads_lif_{th 0.5}(sum over N of k * v)   [T, B, h, 1, d] (integer counts)
     y = q * kv -> [T, B, C, H, W] (channel c = head * d + j) ; x = x + BN(proj_conv1x1(y)) (bias)
  MLP (MS_MLP_Conv): y = BN(fc1(fc1_lif(x))) (bias) ; if hidden == C: y = x + y, shortcut = y
     (else the shortcut is x) ; out = shortcut + BN(fc2(fc2_lif(y))) (bias)
  head: logits = head(head_lif(x.flatten(3).mean(3))).mean(0)

LIF = spikingjelly 0.0.0.0.12 MultiStepLIFNode(tau=2.0, detach_reset=True), v_reset 0, torch
backend: spikformer_reference.MultiStepLIF (charge H = V + (X - V) / tau, spike H - th >= 0, hard
reset), which equals it bit for bit. Every forward starts every LIF from rest (V = 0); the
official nodes carry V between calls and need functional.reset_net() before each batch instead.
Note talking_heads_lif: its input is a non-negative integer per (t, channel) and V is 0 after every
step (reset, or H = 0 / 2 = 0), so it spikes exactly where the count is >= 1 (H = count / 2 >= 0.5;
a count of 1 is an exact tie, which spikes).

forward(x, return_spikes=True) returns (logits, spikes) with every LIF output in snnsim's names
and layouts (float 0/1):
  sps.lif0, sps.lif1, sps.lif2   [T, B, C, H, W] (before the max-pool after them, if any)
  sps.lif3                       [T, B, D, H', W'] (the LIF on x_feat)
  block{j}.attn.shortcut_lif, .q_lif, .k_lif, .v_lif   [T, B, N, D] (token n = h * W' + w)
  block{j}.attn.kv_lif           [T, B, 1, D] (channel c = head * (D / heads) + j)
  block{j}.mlp.fc1_lif [T, B, N, D], block{j}.mlp.fc2_lif [T, B, N, hidden]
  head_lif                       [T, B, D]
"""

import pathlib
import sys

import torch
import torch.nn as nn

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from spikformer_reference import MultiStepLIF  # noqa: E402


def _pool():
    return nn.MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)


def _tokens(s):
    """[T, B, C, H, W] -> [T, B, H*W, C] (token n = h * W + w)."""
    return s.flatten(3).transpose(-1, -2).contiguous()


class MS_SPS(nn.Module):
    def __init__(self, in_channels, embed_dims, pooling_stat):
        super().__init__()
        assert len(pooling_stat) == 4 and set(pooling_stat) <= {"0", "1"}, pooling_stat
        assert embed_dims % 8 == 0, embed_dims
        self.pooling_stat = pooling_stat
        chans = [in_channels, embed_dims // 8, embed_dims // 4, embed_dims // 2, embed_dims]
        for i, sfx in enumerate(["", "1", "2", "3"]):  # registration order as the official MS_SPS
            setattr(self, f"proj_conv{sfx}", nn.Conv2d(chans[i], chans[i + 1], 3, 1, 1, bias=False))
            setattr(self, f"proj_bn{sfx}", nn.BatchNorm2d(chans[i + 1]))
            setattr(self, f"proj_lif{sfx}", MultiStepLIF())
            setattr(self, f"maxpool{sfx}", _pool())
        self.rpe_conv = nn.Conv2d(embed_dims, embed_dims, 3, 1, 1, bias=False)
        self.rpe_bn = nn.BatchNorm2d(embed_dims)
        self.rpe_lif = MultiStepLIF()  # never called (as in the official forward)

    def forward(self, x, rec):
        T, B, _, H, W = x.shape
        ratio = 1
        x = x.flatten(0, 1)
        for i, sfx in enumerate(["", "1", "2"]):
            x = getattr(self, f"proj_conv{sfx}")(x)
            x = getattr(self, f"proj_bn{sfx}")(x).reshape(T, B, -1, H // ratio, W // ratio).contiguous()
            x = getattr(self, f"proj_lif{sfx}")(x)
            rec[f"sps.lif{i}"] = x
            x = x.flatten(0, 1).contiguous()
            if self.pooling_stat[i] == "1":
                x = getattr(self, f"maxpool{sfx}")(x)
                ratio *= 2
        x = self.proj_conv3(x)
        x = self.proj_bn3(x)
        if self.pooling_stat[3] == "1":
            x = self.maxpool3(x)
            ratio *= 2
        x_feat = x
        x = self.proj_lif3(x.reshape(T, B, -1, H // ratio, W // ratio).contiguous())
        rec["sps.lif3"] = x
        x = x.flatten(0, 1).contiguous()
        x = self.rpe_conv(x)
        x = self.rpe_bn(x)
        return (x + x_feat).reshape(T, B, -1, H // ratio, W // ratio).contiguous()


class MS_SSA_Conv(nn.Module):
    def __init__(self, dim, num_heads):
        super().__init__()
        assert dim % num_heads == 0
        self.dim = dim
        self.num_heads = num_heads
        self.scale = 0.125  # official attribute, unused
        for name in ("q", "k", "v"):
            setattr(self, f"{name}_conv", nn.Conv2d(dim, dim, kernel_size=1, stride=1, bias=False))
            setattr(self, f"{name}_bn", nn.BatchNorm2d(dim))
            setattr(self, f"{name}_lif", MultiStepLIF())
        self.attn_lif = MultiStepLIF(v_threshold=0.5)  # never called (as in the official forward)
        self.talking_heads = nn.Conv1d(num_heads, num_heads, kernel_size=1, stride=1, bias=False)  # unused
        self.talking_heads_lif = MultiStepLIF(v_threshold=0.5)
        self.proj_conv = nn.Conv2d(dim, dim, kernel_size=1, stride=1)
        self.proj_bn = nn.BatchNorm2d(dim)
        self.shortcut_lif = MultiStepLIF()

    def forward(self, x, rec, prefix):
        T, B, C, H, W = x.shape
        identity = x
        N = H * W
        x = self.shortcut_lif(x)
        rec[prefix + "shortcut_lif"] = _tokens(x)
        x_for_qkv = x.flatten(0, 1)
        heads = {}
        for name in ("q", "k", "v"):
            y = getattr(self, f"{name}_conv")(x_for_qkv)
            y = getattr(self, f"{name}_bn")(y).reshape(T, B, C, H, W).contiguous()
            y = getattr(self, f"{name}_lif")(y)
            rec[prefix + f"{name}_lif"] = _tokens(y)
            heads[name] = (y.flatten(3).transpose(-1, -2).reshape(T, B, N, self.num_heads, C // self.num_heads)
                           .permute(0, 1, 3, 2, 4).contiguous())  # [T, B, h, N, d]
        kv = heads["k"].mul(heads["v"])
        kv = kv.sum(dim=-2, keepdim=True)  # [T, B, h, 1, d]
        kv = self.talking_heads_lif(kv)
        rec[prefix + "kv_lif"] = kv.permute(0, 1, 3, 2, 4).reshape(T, B, 1, C).contiguous()
        x = heads["q"].mul(kv)
        x = x.transpose(3, 4).reshape(T, B, C, H, W).contiguous()
        x = self.proj_bn(self.proj_conv(x.flatten(0, 1))).reshape(T, B, C, H, W).contiguous()
        return x + identity


class MS_MLP_Conv(nn.Module):
    def __init__(self, in_features, hidden_features):
        super().__init__()
        self.res = in_features == hidden_features
        self.fc1_conv = nn.Conv2d(in_features, hidden_features, kernel_size=1, stride=1)
        self.fc1_bn = nn.BatchNorm2d(hidden_features)
        self.fc1_lif = MultiStepLIF()
        self.fc2_conv = nn.Conv2d(hidden_features, in_features, kernel_size=1, stride=1)
        self.fc2_bn = nn.BatchNorm2d(in_features)
        self.fc2_lif = MultiStepLIF()
        self.c_hidden = hidden_features
        self.c_output = in_features

    def forward(self, x, rec, prefix):
        T, B, C, H, W = x.shape
        identity = x
        x = self.fc1_lif(x)
        rec[prefix + "fc1_lif"] = _tokens(x)
        x = self.fc1_conv(x.flatten(0, 1))
        x = self.fc1_bn(x).reshape(T, B, self.c_hidden, H, W).contiguous()
        if self.res:
            x = identity + x
            identity = x
        x = self.fc2_lif(x)
        rec[prefix + "fc2_lif"] = _tokens(x)
        x = self.fc2_conv(x.flatten(0, 1))
        x = self.fc2_bn(x).reshape(T, B, C, H, W).contiguous()
        return x + identity


class MS_Block_Conv(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio):
        super().__init__()
        self.attn = MS_SSA_Conv(dim, num_heads)
        self.drop_path = nn.Identity()
        self.mlp = MS_MLP_Conv(dim, int(dim * mlp_ratio))

    def forward(self, x, rec, prefix):
        x = self.attn(x, rec, prefix + "attn.")
        return self.mlp(x, rec, prefix + "mlp.")


class SpikeDrivenTransformer(nn.Module):
    def __init__(self, embed_dims=256, depths=2, num_heads=8, mlp_ratios=4, T=4, in_channels=3, classes=10,
                 img_size=32, pooling_stat="0011"):
        super().__init__()
        self.T = T
        self.img_size = img_size
        self.num_classes = classes
        self.patch_embed = MS_SPS(in_channels, embed_dims, pooling_stat)
        self.block = nn.ModuleList([MS_Block_Conv(embed_dims, num_heads, mlp_ratios) for _ in range(depths)])
        self.head_lif = MultiStepLIF()
        self.head = nn.Linear(embed_dims, classes)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m):  # the official initialisation (Conv1d and Linear keep torch's defaults)
        if isinstance(m, nn.Conv2d):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.constant_(m.bias, 0)
            nn.init.constant_(m.weight, 1.0)

    def lif_nodes(self):
        """(snnsim name, module) for every LIF the forward calls, in forward order."""
        sps = self.patch_embed
        out = [(f"sps.lif{i}", getattr(sps, f"proj_lif{s}")) for i, s in enumerate(["", "1", "2", "3"])]
        for j, blk in enumerate(self.block):
            for n in ("shortcut_lif", "q_lif", "k_lif", "v_lif"):
                out.append((f"block{j}.attn.{n}", getattr(blk.attn, n)))
            out.append((f"block{j}.attn.kv_lif", blk.attn.talking_heads_lif))
            for n in ("fc1_lif", "fc2_lif"):
                out.append((f"block{j}.mlp.{n}", getattr(blk.mlp, n)))
        out.append(("head_lif", self.head_lif))
        return out

    def forward(self, x, return_spikes=False):
        """x [B, Cin, H, W] (or [B, T, Cin, H, W]) -> logits [B, classes] (and, if asked, the spikes)."""
        rec = {}
        if x.dim() < 5:
            x = (x.unsqueeze(0)).repeat(self.T, 1, 1, 1, 1)
        else:
            x = x.transpose(0, 1).contiguous()
        x = self.patch_embed(x, rec)
        for j, blk in enumerate(self.block):
            x = blk(x, rec, f"block{j}.")
        x = x.flatten(3).mean(3)
        x = self.head_lif(x)
        rec["head_lif"] = x
        logits = self.head(x).mean(0)
        return (logits, rec) if return_spikes else logits
