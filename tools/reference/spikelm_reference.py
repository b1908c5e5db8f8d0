"""PyTorch reference of SpikeLM's spiking BERT (Xing et al., ICML 2024), for snnsim fixtures.

Written from the official Xingrun-Xing/SpikeLM code (spikeLM-BERT/spiking.py, spike_bert.py,
run_pretrain.py, spike_ft-10w/spike_bert_ft.py), not a copy of it. Needs only torch (numpy and
safetensors for the loaders at the bottom); no transformers.

Usage:
  /work/venv-torch/bin/python tools/reference/spikelm_reference.py     # smoke test (seconds, CPU):
      builds a tiny model, runs it in eval mode, recording spikes, then a few surrogate-gradient
      MLM training steps (alpha initialised from the first batch, then frozen)
  from spikelm_reference import SpikeLMConfig, SpikeLMForPreTraining, SpikeLMForSequenceClassification

The module tree mirrors the official one, so `state_dict()` gives exactly the official keys, in the
official order (SpikeBertForPreTraining / BertForSequenceClassification2):
  bert.embeddings.position_ids (int64 [1, max_positions]; a persistent buffer in the official code)
  bert.embeddings.{word,position,token_type}_embeddings.weight, bert.embeddings.LayerNorm.{weight,bias}
  bert.encoder.layer.{j}.attention.self.{query,key,value}.{weight,bias,weight_clip_val,act_clip_val.{t}}
  bert.encoder.layer.{j}.attention.self.clip_key.{t}, ...clip_value.{t}
  bert.encoder.layer.{j}.attention.output.dense.*, ...attention.output.LayerNorm.*
  bert.encoder.layer.{j}.intermediate.dense.*, ...output.dense.*, ...output.LayerNorm.*
  bert.pooler.dense.{weight,bias}
  pre-training: cls.predictions.bias, cls.predictions.transform.{dense,LayerNorm}.*,
                cls.predictions.decoder.weight (the word-embedding Parameter, tied),
                cls.predictions.decoder.bias (the cls.predictions.bias Parameter, tied),
                cls.seq_relationship.{weight,bias}
  classification: classifier.{weight,bias}
act_clip_val.{t}, clip_key.{t}, clip_value.{t} are 0-dim float32 (alpha of timestep t);
weight_clip_val is float32 [1] (config clip_val, 1.0; never read: weights stay float).

The computation, eval mode (dropout off), every op in the official order so float32 results equal
the official code bit for bit on the same machine:
  emb = LayerNorm_eps(word[ids] + type[tt] + pos[0..L-1])          eps = layer_norm_eps (1e-12)
  h = emb repeated T times: [T, B, L, D]; mask = (1 - attention_mask)[:, None, None, :] * finfo(f32).min
  per layer:
    q, k, v = SpikeLinear_{query,key,value}(h)      each with its OWN input neuron (identical inputs)
    K_t = kq_t(k_t), V_t = vq_t(v_t)                stateless ternary quantizers, alpha clip_key[t] /
                                                    clip_value[t]:  a * clamp(round(x / a), -1, 1)
    per head (d_h = D / heads, feature c = head * d_h + i), per t:
      P = softmax(Q K^T / sqrt(d_h) + mask) ; ctx = P V
    a = LayerNorm_1e-12(SpikeLinear_attention_output(ctx) + h)
    m = gelu_erf(SpikeLinear_intermediate(a))       (erf GELU hard-coded, whatever hidden_act says)
    h = LayerNorm_1e-12(SpikeLinear_output(m) + a)
  hidden = mean over T of h                          [B, L, D]
  mlm head:      logits = LayerNorm_eps(act(hidden W_t^T + b_t)) E^T + bias    act = head_act (ReLU in
                 run_pretrain.py / spike_bert_ft.py: hidden_act = 'relu'); E = word embeddings (tied)
                 nsp = seq_relationship(tanh(pooler(hidden[:, 0])))
  classify head: logits = classifier(tanh(pooler(hidden[:, 0])))   (classifier dropout off)

SpikeLinear(x [T, B, L, Din]) = the elastic bi-spiking neuron over t, then the linear layer:
  u_0 = x_0 ;  u_t = u_{t-1} * 0.25 * (alpha_{t-1} - s_{t-1}) + x_t     (alpha raw, not clamped, here)
  q_t = clamp(round(u_t / a_t), -1, 1) (torch.round: half to even), s_t = a_t * q_t,
        a_t = max(alpha_t, 1e-5)  (torch.where(alpha > 1e-5, alpha, 1e-5))
  y = linear(s, W) + b   (no fused bias: bias added after the matmul, as the official code does)
So the thresholds are +-a_t / 2; after q = +1 the membrane is fully reset, after 0 it leaks by
0.25 alpha, after -1 by 0.5 alpha.

Spike recording: pass `recorder=SpikeRecorder()` to forward; it gets int8 -1/0/+1 levels
[T, B, L, features] under snnsim's node names (j = layer index):
  layer{j}.query.spikes, layer{j}.key.spikes, layer{j}.value.spikes    inputs of q/k/v SpikeLinear
  layer{j}.key.ternary, layer{j}.value.ternary                          the K / V quantizers
  layer{j}.attention_output.spikes, layer{j}.intermediate.spikes, layer{j}.output.spikes
and, with SpikeRecorder(ratios=True), the float u / a_t behind each level (ratios[name]).

Alpha (AlphaInit in the official code): every alpha starts at 1.0 "not initialised"; a forward
that meets an alpha that is not initialised AND equals 1.0 sets it to 2 * mean|u_t| over that
whole tensor (u_t of all B, L, features; for K/V the linear output of step t), in train and eval
mode alike, as the official code does; alphas are never learned (requires_grad False). Unlike the
official code, `load_state_dict_official` marks every alpha initialised (the official flag is not
saved, so there a stored alpha of exactly 1.0 would be re-initialised by the next forward).
`reset_alpha_init()` makes every alpha 1.0 / not initialised again, `alphas()` lists them.

Training mode (model.train()): dropout as configured, and the official straight-through gradient:
d s_t / d u_t = 1 where -1 <= u_t / a_t <= 1, else 0; the gradient flows through u_{t-1} in the
membrane update with the factor 0.25 (alpha_{t-1} - s_{t-1}) held constant (detached), as in the
official code. Losses: `mlm_loss(logits, labels)` (ignore -100), classification: cross entropy.
"""

import dataclasses
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

ALPHA_FLOOR = 1e-5      # the quantizer's lower bound on alpha (the official eps)
LN_EPS_BLOCK = 1e-12    # hard-coded eps of attention.output.LayerNorm and output.LayerNorm

NEURONS_PER_LAYER = ("query.spikes", "key.spikes", "value.spikes", "key.ternary", "value.ternary",
                     "attention_output.spikes", "intermediate.spikes", "output.spikes")


@dataclasses.dataclass
class SpikeLMConfig:
    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 0
    T: int = 4
    head_act: str = "relu"          # MLM transform activation (the official config's hidden_act)
    num_labels: int = 2
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    clip_val: float = 1.0           # stored in every weight_clip_val buffer; unused


class SpikeRecorder:
    """Collects int8 spike levels (and optionally the float u / alpha) per snnsim node name."""

    def __init__(self, ratios=False):
        self.spikes = {}
        self.ratios = {} if ratios else None

    def add(self, name, q_steps, r_steps):
        self.spikes[name] = torch.stack([q.detach() for q in q_steps]).to(torch.int8)
        if self.ratios is not None:
            self.ratios[name] = torch.stack([r.detach() for r in r_steps])


class _TernaryStep(torch.autograd.Function):
    """s = a * clamp(round(u / a), -1, 1); backward: straight through where -1 <= u / a <= 1."""

    @staticmethod
    def forward(ctx, u, a):
        r = u / a
        q = r.round().clamp(-1, 1)
        ctx.save_for_backward(r)
        ctx.mark_non_differentiable(q, r)
        return q * a, q, r

    @staticmethod
    def backward(ctx, grad_s, grad_q, grad_r):
        (r,) = ctx.saved_tensors
        keep = ((r >= -1) & (r <= 1)).to(grad_s.dtype)
        return grad_s * keep, None


def _new_alphas(n):
    return nn.ParameterList([nn.Parameter(torch.tensor(1.0), requires_grad=False) for _ in range(n)])


def _ternary(u, alphas, t, flags):
    """One quantizer step with alpha alphas[t] (AlphaInit on first use); returns s, q, u / a."""
    alpha = alphas[t]
    if not flags[t] and alpha.item() == 1.0:
        with torch.no_grad():
            alpha.copy_(2 * u.detach().abs().mean() / math.sqrt(1))   # LSQ init, Qp = 1
        flags[t] = True
    floor = torch.tensor(ALPHA_FLOOR, dtype=torch.float32, device=alpha.device)
    a = torch.where(alpha > floor, alpha, floor)
    return _TernaryStep.apply(u, a)


class SpikeLinear(nn.Module):
    """Elastic bi-spiking input neuron over the T steps, then a float linear layer."""

    def __init__(self, in_features, out_features, config, name):
        super().__init__()
        self.in_features, self.out_features, self.T = in_features, out_features, config.T
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features))
        self.register_buffer("weight_clip_val", torch.tensor([config.clip_val]))
        self.act_clip_val = _new_alphas(config.T)
        self.alpha_initialized = [False] * config.T
        self.node_name = name
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x, recorder=None):
        assert x.shape[0] == self.T, (x.shape, self.T)
        s_steps, q_steps, r_steps = [], [], []
        u = None
        for t in range(self.T):
            if t == 0:
                u = x[0]
            else:
                leak = self.act_clip_val[t - 1].detach() - s_steps[t - 1].detach()
                u = u * 0.25 * leak + x[t]
            s, q, r = _ternary(u, self.act_clip_val, t, self.alpha_initialized)
            s_steps.append(s)
            q_steps.append(q)
            r_steps.append(r)
        if recorder is not None:
            recorder.add(self.node_name + ".spikes", q_steps, r_steps)
        y = F.linear(torch.stack(s_steps), self.weight)
        return y + self.bias


class BertEmbeddings(nn.Module):
    def __init__(self, config):
        super().__init__()
        D = config.hidden_size
        self.word_embeddings = nn.Embedding(config.vocab_size, D, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, D)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, D)
        self.LayerNorm = nn.LayerNorm(D, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.register_buffer("position_ids", torch.arange(config.max_position_embeddings).expand((1, -1)))

    def forward(self, input_ids, token_type_ids):
        L = input_ids.shape[1]
        e = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        e = e + self.position_embeddings(self.position_ids[:, :L])
        return self.dropout(self.LayerNorm(e))


class BertSelfAttention(nn.Module):
    def __init__(self, config, j):
        super().__init__()
        D, self.heads = config.hidden_size, config.num_attention_heads
        assert D % self.heads == 0
        self.head_size, self.T = D // self.heads, config.T
        self.query = SpikeLinear(D, D, config, f"layer{j}.query")
        self.key = SpikeLinear(D, D, config, f"layer{j}.key")
        self.value = SpikeLinear(D, D, config, f"layer{j}.value")
        self.clip_key = _new_alphas(config.T)
        self.clip_value = _new_alphas(config.T)
        self.key_initialized = [False] * config.T
        self.value_initialized = [False] * config.T
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)
        self.layer_index = j

    def _quantize(self, y, alphas, flags, name, recorder):
        # stateless: each step on its own slice [1, B, L, D] with its own alpha
        outs = [_ternary(y[t:t + 1], alphas, t, flags) for t in range(self.T)]
        if recorder is not None:
            recorder.add(name, [o[1][0] for o in outs], [o[2][0] for o in outs])
        return torch.cat([o[0] for o in outs], dim=0)

    def _heads(self, x):  # [T, B, L, D] -> [T, B, h, L, d_h]
        T, B, L, _ = x.shape
        return x.view(T, B, L, self.heads, self.head_size).permute(0, 1, 3, 2, 4)

    def forward(self, h, mask, recorder=None):
        j = self.layer_index
        q = self.query(h, recorder)
        k = self.key(h, recorder)
        v = self.value(h, recorder)
        k = self._quantize(k, self.clip_key, self.key_initialized, f"layer{j}.key.ternary", recorder)
        v = self._quantize(v, self.clip_value, self.value_initialized, f"layer{j}.value.ternary", recorder)
        scores = torch.matmul(self._heads(q), self._heads(k).transpose(-1, -2))
        scores = scores / math.sqrt(self.head_size)
        scores = scores + mask.unsqueeze(0)
        probs = self.dropout(F.softmax(scores, dim=-1))
        ctx = torch.matmul(probs, self._heads(v)).permute(0, 1, 3, 2, 4).contiguous()
        return ctx.view(ctx.shape[:-2] + (self.heads * self.head_size,))


class _DenseResidualNorm(nn.Module):
    """dense (SpikeLinear) -> dropout -> LayerNorm(eps 1e-12)(. + residual)."""

    def __init__(self, d_in, d_out, config, name):
        super().__init__()
        self.dense = SpikeLinear(d_in, d_out, config, name)
        self.LayerNorm = nn.LayerNorm(d_out, eps=LN_EPS_BLOCK)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, x, residual, recorder=None):
        return self.LayerNorm(self.dropout(self.dense(x, recorder)) + residual)


class BertAttention(nn.Module):
    def __init__(self, config, j):
        super().__init__()
        self.self = BertSelfAttention(config, j)
        D = config.hidden_size
        self.output = _DenseResidualNorm(D, D, config, f"layer{j}.attention_output")

    def forward(self, h, mask, recorder=None):
        return self.output(self.self(h, mask, recorder), h, recorder)


def gelu_erf(x):
    return x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))


class BertIntermediate(nn.Module):
    def __init__(self, config, j):
        super().__init__()
        self.dense = SpikeLinear(config.hidden_size, config.intermediate_size, config, f"layer{j}.intermediate")

    def forward(self, x, recorder=None):
        return gelu_erf(self.dense(x, recorder))


class BertLayer(nn.Module):
    def __init__(self, config, j):
        super().__init__()
        self.attention = BertAttention(config, j)
        self.intermediate = BertIntermediate(config, j)
        self.output = _DenseResidualNorm(config.intermediate_size, config.hidden_size, config, f"layer{j}.output")

    def forward(self, h, mask, recorder=None):
        a = self.attention(h, mask, recorder)
        return self.output(self.intermediate(a, recorder), a, recorder)


class BertEncoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.T = config.T
        self.layer = nn.ModuleList([BertLayer(config, j) for j in range(config.num_hidden_layers)])

    def forward(self, x, mask, recorder=None):
        h = x.repeat(self.T, 1, 1, 1)           # [T, B, L, D], direct coding
        for layer in self.layer:
            h = layer(h, mask, recorder)
        return h.mean(0)


class BertPooler(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden):
        return torch.tanh(self.dense(hidden[:, 0]))


class SpikeLMModel(nn.Module):
    """Embeddings, spiking encoder (mean over T) and pooler: the official BertModel of spike_bert.py."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config)

    def forward(self, input_ids, token_type_ids=None, attention_mask=None, recorder=None):
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        if attention_mask is None:
            attention_mask = torch.ones(input_ids.shape, device=input_ids.device)
        m = attention_mask[:, None, None, :].to(torch.float32)
        mask = (1.0 - m) * torch.finfo(torch.float32).min        # [B, 1, 1, L]
        hidden = self.encoder(self.embeddings(input_ids, token_type_ids), mask, recorder)
        return hidden, self.pooler(hidden)


_HEAD_ACTS = {"relu": F.relu, "gelu": F.gelu, "tanh": torch.tanh}


class BertPredictionHeadTransform(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.act = _HEAD_ACTS[config.head_act]
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, x):
        return self.LayerNorm(self.act(self.dense(x)))


class BertLMPredictionHead(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.transform = BertPredictionHeadTransform(config)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        self.decoder.bias = self.bias          # tied, as in the official head

    def forward(self, x):
        return self.decoder(self.transform(x))


class BertPreTrainingHeads(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.predictions = BertLMPredictionHead(config)
        self.seq_relationship = nn.Linear(config.hidden_size, 2)


class _SpikeLMBase(nn.Module):
    def alpha_owners(self):
        """(state_dict prefix, ParameterList, flag list) for every alpha list."""
        out = []
        for name, mod in self.named_modules():
            if isinstance(mod, SpikeLinear):
                out.append((name + ".act_clip_val", mod.act_clip_val, mod.alpha_initialized))
            elif isinstance(mod, BertSelfAttention):
                out.append((name + ".clip_key", mod.clip_key, mod.key_initialized))
                out.append((name + ".clip_value", mod.clip_value, mod.value_initialized))
        return out

    def alphas(self):
        return {f"{p}.{t}": float(a) for p, lst, _ in self.alpha_owners() for t, a in enumerate(lst)}

    def reset_alpha_init(self):
        with torch.no_grad():
            for _, lst, flags in self.alpha_owners():
                for t, a in enumerate(lst):
                    a.fill_(1.0)
                    flags[t] = False

    def mark_alphas_initialized(self):
        for _, _, flags in self.alpha_owners():
            flags[:] = [True] * len(flags)

    def init_bert_weights(self, std=0.02, generator=None):
        """The official _init_weights: N(0, std) weights, zero biases, zero padding row, LN 1 / 0."""
        with torch.no_grad():
            for mod in self.modules():
                if isinstance(mod, (nn.Linear, SpikeLinear)):
                    mod.weight.normal_(0.0, std, generator=generator)
                    if mod.bias is not None:
                        mod.bias.zero_()
                elif isinstance(mod, nn.Embedding):
                    mod.weight.normal_(0.0, std, generator=generator)
                    if mod.padding_idx is not None:
                        mod.weight[mod.padding_idx].zero_()
                elif isinstance(mod, nn.LayerNorm):
                    mod.weight.fill_(1.0)
                    mod.bias.zero_()
            if hasattr(self, "cls"):
                self.cls.predictions.bias.zero_()


class SpikeLMForPreTraining(_SpikeLMBase):
    """SpikeBertForPreTraining: MLM head (tied decoder) + next-sentence head."""

    head = "mlm"

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.bert = SpikeLMModel(config)
        self.cls = BertPreTrainingHeads(config)
        self.cls.predictions.decoder.weight = self.bert.embeddings.word_embeddings.weight

    def forward(self, input_ids, token_type_ids=None, attention_mask=None, recorder=None):
        hidden, pooled = self.bert(input_ids, token_type_ids, attention_mask, recorder)
        return {"hidden": hidden, "pooled": pooled, "logits": self.cls.predictions(hidden),
                "nsp_logits": self.cls.seq_relationship(pooled)}


class SpikeLMForSequenceClassification(_SpikeLMBase):
    """BertForSequenceClassification2 of spike_bert_ft.py: pooler + dropout + classifier."""

    head = "classify"

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.bert = SpikeLMModel(config)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, input_ids, token_type_ids=None, attention_mask=None, recorder=None):
        hidden, pooled = self.bert(input_ids, token_type_ids, attention_mask, recorder)
        return {"hidden": hidden, "pooled": pooled, "logits": self.classifier(self.dropout(pooled))}


def build_spikelm(config, head):
    if head == "mlm":
        return SpikeLMForPreTraining(config)
    if head == "classify":
        return SpikeLMForSequenceClassification(config)
    raise ValueError(f"unknown head {head!r} (mlm | classify)")


def mlm_loss(logits, labels):
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)


def load_state_dict_official(model, state):
    """Load official-named tensors (e.g. a fixture's safetensors): strict, except that
    bert.embeddings.position_ids may be absent (it is arange(max_positions)); tied tensors
    (cls.predictions.decoder.*) must equal their partners. Marks every alpha initialised."""
    state = dict(state)
    own = model.state_dict()
    state.setdefault("bert.embeddings.position_ids", own["bert.embeddings.position_ids"].clone())
    for tied, partner in (("cls.predictions.decoder.weight", "bert.embeddings.word_embeddings.weight"),
                          ("cls.predictions.decoder.bias", "cls.predictions.bias")):
        if tied in own and tied in state and partner in state:
            assert torch.equal(state[tied], state[partner]), f"{tied} differs from {partner}"
    model.load_state_dict(state, strict=True)
    model.mark_alphas_initialized()
    return model


def neuron_names(config):
    return [f"layer{j}.{n}" for j in range(config.num_hidden_layers) for n in NEURONS_PER_LAYER]


def _smoke_test():
    torch.manual_seed(0)
    cfg = SpikeLMConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=16, T=4)
    model = SpikeLMForPreTraining(cfg)
    model.init_bert_weights(std=0.1)
    ids = torch.randint(1, cfg.vocab_size, (4, 10))
    mask = torch.ones(4, 10)
    mask[1, 7:] = 0
    ids[1, 7:] = 0
    model.eval()
    rec = SpikeRecorder()
    with torch.no_grad():
        out = model(ids, attention_mask=mask, recorder=rec)   # alphas initialised here (AlphaInit)
    print("eval: logits", tuple(out["logits"].shape), "neurons recorded", len(rec.spikes))
    for name in neuron_names(cfg)[:8]:
        s = rec.spikes[name]
        print(f"  {name:28s} {tuple(s.shape)}  -1/0/+1 shares "
              + " ".join(f"{(s == v).float().mean().item():.3f}" for v in (-1, 0, 1)))
    alphas = model.alphas()
    print("alphas initialised:", len(alphas), "all != 1:", all(a != 1.0 for a in alphas.values()))
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-3)
    labels = ids.clone()
    for step in range(6):
        loss = mlm_loss(model(ids, attention_mask=mask)["logits"], labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        print(f"train step {step}: mlm loss {loss.item():.4f}")
    assert model.alphas() == alphas, "alphas must stay frozen"
    print("alphas unchanged by training: ok")


if __name__ == "__main__":
    _smoke_test()
