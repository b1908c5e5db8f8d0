"""PyTorch reference of T-RevSNN (Hu et al., ICML 2024, "High-Performance Temporal Reversible
Spiking Neural Networks with O(L) Training Memory and O(1) Inference Cost") for snnsim.

Written from the official code, github.com/BICLab/T-RevSNN at commit 3b75b37:
models/spike_rev_reuse.py (FullNet, SubNet, Level, Fusion, MS_SpikeConvNextBlock_Reuse,
Classifier, SpikeClassifier, MS_PatchEmbed, MS_PatchEmbed_DVS), models/spike_modules.py (Quant,
MS_SpikeConvNextBlock, DownSampling, UpSampling) and models/rev_function.py (ReverseFunction,
whose forward is the column update below), with ScaledStdConv2d as in timm 0.6.13. No official
code is copied; the module tree is laid out so that `TRevSNN(...).state_dict()` has exactly the
keys, order and shapes of the official `FullNet(...).state_dict()` (RGB with inter_supv=True,
DVS with inter_supv=False), and the eval-mode logits equal the official ones bit for bit
(tools/reference/check_trevsnn_official.py).

Model (T = number of columns, "timesteps"; l = 0..3 levels; states c_l carried across columns):
  column t:  c0 = L0(x_t, c1')  + a0 * c0'      (' = the previous column's state; column 0 has
             c1 = L1(c0,  c2')  + a1 * c1'        no previous states and no up path)
             c2 = L2(c1,  c3')  + a2 * c2'
             c3 = L3(c2)        + a3 * c3'
  L_l = Fusion -> BlockA (with layer scale gamma) -> BlockB (its pwconv2/dwconv2 are one module
  per level shared by all columns). Fusion: down path D_l(c_{l-1}) (identity for l = 0,
  SN -> conv3x3 s2 -> BN for l = 1, 2, SN -> conv1x1 -> BN for l = 3) plus, from column 1 on and
  for l < 3, the up path U_l(c_{l+1}') (SN -> conv1x1 -> BN, then nearest x2 upsample for l < 2).
  Block: out = z + gamma * DW2(PW2(SN(PW1(DW1(SN(z)))))); PW = timm ScaledStdConv2d 1x1.
  SN(u) (eval) = round(clamp(u, 0, 1)), half to even: fires iff u > 0.5.
  RGB: the stem (ScaledStdConv2d 7x7 s2, ScaledStdConv2d 3x3 s2) runs once, x_t = x for all t.
  DVS: input [B, T, 2, H, W], column t has its own stem (ScaledStdConv2d 3x3 s1) on frame t.
  Head (SpikeClassifier): SN -> global average pool -> ScaledStdConv2d 1x1 -> ScaledStdConv2d 1x1,
  on c3 of the last head column (RGB) or on c3 of the last column divided by T (DVS).

Quirks of the official code reproduced here:
  * Eval-mode spikes are round(clamp(u, 0, 1)) (fire iff u > 0.5); training-mode spikes are
    floor(clamp(u, 0, 1) + 0.5) (fire iff u >= 0.5) with a straight-through gradient for
    0 <= u <= 1 (Quant).
  * Every column's forward first clamps its own alpha parameters IN PLACE to |alpha| >= 1e-3,
    keeping the sign: alpha = sign(alpha) * max(|alpha|, 1e-3). sign(0) = 0, so an alpha of
    exactly 0 stays 0. Column 0's alphas are clamped too but multiply a zero state.
  * The shared BlockB tail (pwconv2_reuse, dwconv2_reuse) is one set of tensors per level, but the
    state_dict repeats it under every subnet{i}; load_state_dict writes each copy in turn into
    the same tensors, so the last column's copy wins.
  * leaky_relu(x, act_learn) in the stem and the head has act_learn = 1 (FullNet.change_act sets
    the attribute on FullNet, never on the submodules), i.e. it is the identity and is omitted.
  * RGB (inter_supv=True): heads 0..2 (Classifier: GAP -> ScaledStdConv2d on the real-valued c3)
    are training-only; head h is applied after column (h + 1) * (T // 4) - 1, and inference uses
    head 3, which is therefore on column 4 * (T // 4) - 1: the last column only when T % 4 == 0.
    The official code raises for T < 4 and whenever T % 4 >= T // 4 (a fifth head index); so does
    this module, at construction.
  * DVS (inter_supv=False): the head sees c3 of the last column divided by T (the official code
    also sums c3 over the columns into a variable it never uses). The number of input frames
    must equal T (official: chunk(T, dim=1) then squeeze(1)).
  * The `layers` and `drop_path` arguments of FullNet have no effect (every level has exactly
    two blocks, no drop path) and are not taken here.
Not reproduced: the reversible backward of ReverseFunction (the official O(L)-memory training
recomputes each level in backward, which also updates training-mode BatchNorm running stats a
second time and divides by alpha). Training here uses plain autograd, whose gradients are the
ones the reversible backward reconstructs.

CPU only; all randomness comes from the caller's torch seed.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

ALPHA_MIN = 1e-3
ALPHA_INIT = 0.5
NUM_LEVELS = 4


class SpikeSTE(torch.autograd.Function):
    """Training-mode spike: floor(clamp(u, 0, 1) + 0.5), gradient passed through for 0 <= u <= 1."""

    @staticmethod
    def forward(ctx, u):
        ctx.save_for_backward(u)
        return torch.floor(torch.clamp(u, 0, 1) + 0.5)

    @staticmethod
    def backward(ctx, grad_output):
        (u,) = ctx.saved_tensors
        return grad_output.masked_fill((u < 0) | (u > 1), 0)


def spike(u, training):
    """The stateless spiking neuron SN(u) of T-RevSNN, threshold 0.5 (see the module docstring)."""
    if training:
        return SpikeSTE.apply(u)
    return torch.clamp(u, 0, 1).round()


class ScaledStdConv2d(nn.Conv2d):
    """timm 0.6.13 ScaledStdConv2d: conv with the weight standardized per output filter,

    W' = gain * fan_in**-0.5 * (W - mean(W)) / sqrt(var(W) + 1e-6), biased variance over each
    filter; computed with F.batch_norm as timm does, so that results match it bit for bit.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, eps=1e-6):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding)
        self.gain = nn.Parameter(torch.ones(out_channels, 1, 1, 1))
        self.scale = self.weight[0].numel() ** -0.5
        self.eps = eps

    def standardized_weight(self):
        """The effective convolution weight W'."""
        return F.batch_norm(
            self.weight.reshape(1, self.out_channels, -1),
            None,
            None,
            weight=(self.gain * self.scale).view(-1),
            training=True,
            momentum=0.0,
            eps=self.eps,
        ).reshape_as(self.weight)

    def forward(self, x):
        return F.conv2d(x, self.standardized_weight(), self.bias, self.stride, self.padding)


def depthwise_conv(channels, kernel_size):
    """Depthwise k x k conv with bias and 'same' padding (the dwconv1/dwconv2 of the blocks)."""
    return nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2, groups=channels)


class SpikeConvBN(nn.Module):
    """SN -> Conv2d (no bias) -> BatchNorm2d [-> nearest x2 upsample] (DownSampling/UpSampling)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, upsample=False):
        super().__init__()
        self.encode_conv = nn.Conv2d(
            in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False
        )
        self.encode_bn = nn.BatchNorm2d(out_channels)
        self.upsample = upsample

    def forward(self, c):
        y = self.encode_bn(self.encode_conv(spike(c, self.training)))
        if self.upsample:
            y = F.interpolate(y, scale_factor=2, mode="nearest")
        return y


class Fusion(nn.Module):
    """Input of level l: down path from c_{l-1} (or x) plus, after column 0, up path from c_{l+1}'."""

    def __init__(self, level, channels, first_col):
        super().__init__()
        if level == 0:
            self.down = nn.Identity()
        elif level < 3:
            self.down = SpikeConvBN(channels[level - 1], channels[level], 3, 2, 1)
        else:
            self.down = SpikeConvBN(channels[2], channels[3], 1, 1, 0)
        if not first_col and level < 3:
            self.up = SpikeConvBN(channels[level + 1], channels[level], 1, 1, 0, upsample=level < 2)
        else:
            self.up = None

    def forward(self, c_down, c_up):
        x = self.down(c_down)
        if self.up is not None:
            x = self.up(c_up) + x
        return x


class _Recorder:
    """Collects intermediate tensors by name, one entry per column."""

    def __init__(self):
        self.tensors = {}

    def add(self, name, tensor):
        self.tensors.setdefault(name, []).append(tensor.detach().clone())

    def stacked(self):
        """Every name's entries stacked along a new leading axis."""
        return {name: torch.stack(values) for name, values in self.tensors.items()}


class SpikeConvNeXtBlock(nn.Module):
    """BlockA (MS_SpikeConvNextBlock): out = z + gamma * DW2(PW2(SN(PW1(DW1(SN(z))))))."""

    def __init__(self, dim, kernel_size):
        super().__init__()
        self.dwconv1 = depthwise_conv(dim, kernel_size)
        self.pwconv1 = ScaledStdConv2d(dim, 4 * dim, 1)
        self.pwconv2 = ScaledStdConv2d(4 * dim, dim, 1)
        self.dwconv2 = depthwise_conv(dim, kernel_size)
        self.gamma = nn.Parameter(torch.ones(1, dim, 1, 1))

    def forward(self, z, record=None, name=""):
        y = _block_branch(self, z, self.pwconv2, self.dwconv2, record, name)
        return z + y * self.gamma


class SharedTailBlock(nn.Module):
    """BlockB (MS_SpikeConvNextBlock_Reuse): out = z + DW2(PW2(SN(PW1(DW1(SN(z)))))), no gamma;
    PW2 and DW2 are modules shared by all columns (passed in, not created here)."""

    def __init__(self, dim, kernel_size, pwconv2_reuse, dwconv2_reuse):
        super().__init__()
        self.dwconv1 = depthwise_conv(dim, kernel_size)
        self.pwconv1 = ScaledStdConv2d(dim, 4 * dim, 1)
        self.pwconv2_reuse = pwconv2_reuse
        self.dwconv2_reuse = dwconv2_reuse

    def forward(self, z, record=None, name=""):
        return z + _block_branch(self, z, self.pwconv2_reuse, self.dwconv2_reuse, record, name)


def _block_branch(block, z, pwconv2, dwconv2, record, name):
    """The residual branch shared by both block kinds; records SN(z) and SN(PW1(...))."""
    s1 = spike(z, block.training)
    s2 = spike(block.pwconv1(block.dwconv1(s1)), block.training)
    if record is not None:
        record.add(f"{name}.sn1", s1)
        record.add(f"{name}.sn2", s2)
    return dwconv2(pwconv2(s2))


class Level(nn.Module):
    """One level of one column: Fusion, then BlockA, then BlockB."""

    def __init__(self, level, channels, kernel_size, first_col, pwconv2_reuse, dwconv2_reuse):
        super().__init__()
        dim = channels[level]
        self.fusion = Fusion(level, channels, first_col)
        self.blocks = nn.Sequential(
            SpikeConvNeXtBlock(dim, kernel_size),
            SharedTailBlock(dim, kernel_size, pwconv2_reuse, dwconv2_reuse),
        )

    def forward(self, c_down, c_up, record=None, name=""):
        z = self.fusion(c_down, c_up)
        for b, block in enumerate(self.blocks):
            z = block(z, record, f"{name}.block{b}")
        return z


class Column(nn.Module):
    """One sub-network (SubNet): four levels and the per-level state coefficients alpha0..3."""

    def __init__(self, channels, kernel_size, first_col, shared):
        super().__init__()
        for l in range(NUM_LEVELS):
            alpha = nn.Parameter(torch.full((1, channels[l], 1, 1), ALPHA_INIT))
            self.register_parameter(f"alpha{l}", alpha)
        for l in range(NUM_LEVELS):
            pwconv2, dwconv2 = shared[l]
            level = Level(l, channels, kernel_size, first_col, pwconv2, dwconv2)
            self.add_module(f"level{l}", level)

    def alphas(self):
        """alpha0..alpha3, each [1, C_l, 1, 1]."""
        return [getattr(self, f"alpha{l}") for l in range(NUM_LEVELS)]

    def clamp_alphas_(self):
        """The official in-place clamp: alpha = sign(alpha) * max(|alpha|, 1e-3) (sign(0) = 0)."""
        with torch.no_grad():
            for alpha in self.alphas():
                sign = alpha.sign()
                alpha.abs_().clamp_(min=ALPHA_MIN).mul_(sign)

    def forward(self, x, states, record=None):
        """Advance the level states by one column; states is None for column 0."""
        self.clamp_alphas_()
        prev = states if states is not None else (None,) * NUM_LEVELS
        new = []
        for l, alpha in enumerate(self.alphas()):
            c_down = x if l == 0 else new[l - 1]
            c_up = prev[l + 1] if l + 1 < NUM_LEVELS else None
            c = getattr(self, f"level{l}")(c_down, c_up, record, f"level{l}")
            if prev[l] is not None:
                c = c + prev[l] * alpha
            new.append(c)
        return tuple(new)


class RGBStem(nn.Module):
    """MS_PatchEmbed: ScaledStdConv2d 7x7 s2 p3 (3 -> C0), identity, ScaledStdConv2d 3x3 s2 p1."""

    def __init__(self, channels):
        super().__init__()
        self.down1 = nn.Sequential(ScaledStdConv2d(3, channels, 7, stride=2, padding=3))
        self.down2 = nn.Sequential(ScaledStdConv2d(channels, channels, 3, stride=2, padding=1))

    def forward(self, img):
        return self.down2(self.down1(img))


class DVSStem(nn.Module):
    """MS_PatchEmbed_DVS: ScaledStdConv2d 3x3 s1 p1 (2 -> C0), one per column."""

    def __init__(self, channels):
        super().__init__()
        self.down = nn.Sequential(ScaledStdConv2d(2, channels, 3, stride=1, padding=1))

    def forward(self, frame):
        return self.down(frame)


class Classifier(nn.Module):
    """Training-only intermediate head: GAP of the real-valued c3 -> ScaledStdConv2d 1x1."""

    def __init__(self, in_channels, num_classes):
        super().__init__()
        self.classifier = nn.Sequential(ScaledStdConv2d(in_channels, num_classes, 1))

    def forward(self, c3):
        pooled = c3.mean(dim=[-1, -2], keepdim=True)
        return self.classifier(pooled).flatten(1)


class SpikeClassifier(nn.Module):
    """Inference head: SN -> GAP -> ScaledStdConv2d 1x1 -> (identity) -> ScaledStdConv2d 1x1."""

    def __init__(self, in_channels, num_classes):
        super().__init__()
        self.classifier1 = nn.Sequential(ScaledStdConv2d(in_channels, num_classes, 1))
        self.classifier2 = ScaledStdConv2d(num_classes, num_classes, 1)

    def forward(self, u, record=None):
        s = spike(u, self.training)
        if record is not None:
            record.add("head.sn", s)
        pooled = s.mean(dim=[-1, -2], keepdim=True)
        return self.classifier2(self.classifier1(pooled)).flatten(1)


class TRevSNN(nn.Module):
    """T-RevSNN, laid out as the official FullNet (see the module docstring).

    Args:
        channels: [C0, C1, C2, C3], the channels of the four levels.
        timesteps: T, the number of columns (FullNet's num_subnet).
        kernel_size: the depthwise kernel size k of the blocks (odd).
        classes: the number of output classes.
        dvs: False for RGB images [B, 3, H, W] (stem once, inter_supv=True heads), True for event
            frames [B, T, 2, H, W] (a stem per column, a single head on c3 / T).
    """

    def __init__(self, channels, timesteps, kernel_size=3, classes=1000, dvs=False):
        super().__init__()
        if len(channels) != NUM_LEVELS:
            raise ValueError(f"channels must have {NUM_LEVELS} entries, got {channels}")
        if not dvs and (timesteps < 4 or timesteps % 4 >= timesteps // 4):
            raise ValueError(
                f"RGB T-RevSNN with intermediate heads needs T >= 4 and T % 4 < T // 4 "
                f"(the official head schedule), got T = {timesteps}"
            )
        self.channels = list(channels)
        self.timesteps = timesteps
        self.kernel_size = kernel_size
        self.classes = classes
        self.dvs = dvs

        if dvs:
            self.stem = nn.ModuleList([DVSStem(channels[0]) for _ in range(timesteps)])
        else:
            self.stem = RGBStem(channels[0])
        shared = [(ScaledStdConv2d(4 * c, c, 1), depthwise_conv(c, kernel_size)) for c in channels]
        for i in range(timesteps):
            self.add_module(f"subnet{i}", Column(channels, kernel_size, i == 0, shared))
        if dvs:
            self.cls_blocks = SpikeClassifier(channels[3], classes)
        else:
            self.cls_blocks = nn.ModuleList(
                [Classifier(channels[3], classes) for _ in range(3)]
                + [SpikeClassifier(channels[3], classes)]
            )
        self.apply(_init_weights)

    def columns(self):
        """The T columns subnet0..subnet{T-1}."""
        return [getattr(self, f"subnet{i}") for i in range(self.timesteps)]

    def head_columns(self):
        """RGB: the column after which head h (0..3) is applied; inference uses head 3."""
        interval = self.timesteps // 4
        return [(h + 1) * interval - 1 for h in range(4)]

    def forward(self, x, return_intermediates=False):
        """Logits [B, classes] of the inference head (the official outputs[-1]).

        With return_intermediates, returns (logits, tensors): `x` (the stem output, [B, C0, H, W]
        for RGB, [T, B, C0, H, W] for DVS), `c{l}` and `s{l}` = SN(c{l}) ([T, B, C_l, H_l, W_l],
        the level states after each column), `level{l}.block{b}.sn1` / `.sn2` ([T, B, ...]: SN of
        the block input and SN after pwconv1) and `head.sn` (the head's spikes, [B, C3, H3, W3]).
        """
        logits, record = self._run(x, record=_Recorder() if return_intermediates else None)
        if not return_intermediates:
            return logits[-1]
        tensors = record.stacked()
        tensors["head.sn"] = tensors["head.sn"][0]
        if not self.dvs:
            tensors["x"] = tensors["x"][0]
        return logits[-1], tensors

    def forward_heads(self, x):
        """Every head's logits, as the official forward returns them: RGB [head0..head3], DVS [head]."""
        return self._run(x, record=None, all_heads=True)[0]

    def _run(self, x, record, all_heads=False):
        states = None
        if self.dvs:
            if x.dim() != 5 or x.shape[1] != self.timesteps:
                raise ValueError(
                    f"DVS input must be [B, T={self.timesteps}, 2, H, W], got {list(x.shape)}"
                )
        else:
            stem_out = self.stem(x)
            if record is not None:
                record.add("x", stem_out)
        heads = []
        head_columns = [] if self.dvs else self.head_columns()
        for t, column in enumerate(self.columns()):
            if self.dvs:
                stem_out = self.stem[t](x[:, t])
                if record is not None:
                    record.add("x", stem_out)
            states = column(stem_out, states, record)
            if record is not None:
                for l, c in enumerate(states):
                    record.add(f"c{l}", c)
                    record.add(f"s{l}", spike(c, self.training))
            if t in head_columns:
                h = head_columns.index(t)
                if h == 3:
                    heads.append(self.cls_blocks[3](states[3], record))
                elif all_heads:
                    heads.append(self.cls_blocks[h](states[3]))
        if self.dvs:
            heads.append(self.cls_blocks(states[3] / self.timesteps, record))
        return heads, record


def _init_weights(module):
    """FullNet._init_weights: conv weights ~ trunc_normal(std 0.02, cut at +-2), conv biases 0,
    BatchNorm weight 1 and bias 0 (gains, gamma and alphas keep their 1, 1 and 0.5)."""
    if isinstance(module, nn.Conv2d):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
