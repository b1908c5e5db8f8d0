"""NIR graphs written by NIR's reference package, one per primitive, for snnsim's NIR import tests.

For each fixture NAME this writes, into tests/fixtures/nir/:
  NAME.nir           the graph, written with nir.write (and read back with nir.read, type checks on)
  NAME.input.npy     a seeded input [T, B, *input shape] (float32)
  NAME.expected.npy  the Output node's value [T, B, *output shape] (float32): spikes, or analog
                     values, computed here by an independent NumPy (float64) implementation of the
                     "NIR conventions" of docs/export.md

The conventions: forward Euler at dt (seconds, the graph's metadata "dt"); a node's input in a step
is the sum of its sources' outputs in that step; an edge closing a cycle without a Delay (found by a
depth-first walk from the Input, edges in file order, not following edges into a Delay) reads the
previous step; a spike is 1 in its step and the reset happens in that step; a Delay gives its input
of round(delay / dt) steps before (0 before the first); membranes start at v_leak (0 for IF and I),
currents at 0. Average pooling divides by the whole window, padding included (PyTorch's default).

Parameters and inputs are float32 values, so that snnsim's float32 tensors hold them exactly. Each
fixture is drawn again from the next seed until no membrane (nor Threshold input) comes within
1e-4 of its threshold in any step, so float32 arithmetic cannot flip a spike; the script asserts it.

Regenerate (tests/nir_import_test.cpp reads these files):
  .venv-tools/bin/python tools/reference/make_nir_fixtures.py
"""

import pathlib

import nir
import numpy as np

OUT = pathlib.Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "nir"
DT = 1e-3  # seconds
MARGIN = 1e-4
T, B = 12, 2


class TooClose(Exception):
    """A membrane came within MARGIN of a threshold: draw the fixture again."""


def f32(a):
    return np.asarray(a, dtype=np.float32)


# --- the reference: NIR's conventions in float64 ----------------------------------------------


def flatten_graph(graph, prefix=""):
    """(nodes, edges) with nested graphs inlined ("sub.node") and their Input/Output dropped."""
    nodes, edges, boundary = {}, [], set()

    def resolve(g, pre, end, source):
        if end in g.nodes:
            node = g.nodes[end]
            if isinstance(node, nir.NIRGraph):
                kind = nir.Output if source else nir.Input
                (inner,) = [k for k, v in node.nodes.items() if isinstance(v, kind)]
                return resolve(node, pre + end + ".", inner, source)
            return pre + end
        head, tail = end.split(".", 1)
        return resolve(g.nodes[head], pre + head + ".", tail, source)

    def walk(g, pre, top):
        for name, node in g.nodes.items():
            if isinstance(node, nir.NIRGraph):
                walk(node, pre + name + ".", False)
                continue
            nodes[pre + name] = node
            if not top and isinstance(node, (nir.Input, nir.Output)):
                boundary.add(pre + name)
        for a, b in g.edges:
            edges.append((resolve(g, pre, a, True), resolve(g, pre, b, False)))

    walk(graph, prefix, True)
    for n in sorted(boundary):
        sources = [a for a, b in edges if b == n]
        rewired = []
        for a, b in edges:
            if b == n:
                continue
            rewired.extend([(s, b) for s in sources] if a == n else [(a, b)])
        edges = rewired
        del nodes[n]
    return nodes, edges


def conv2d(x, w, b, stride, padding, groups):
    """x [B, C, H, W], w [O, C/g, kh, kw]: PyTorch's cross-correlation."""
    x = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    batch, _, height, width = x.shape
    out_c, in_per_group, kh, kw = w.shape
    oh = (height - kh) // stride[0] + 1
    ow = (width - kw) // stride[1] + 1
    y = np.zeros((batch, out_c, oh, ow))
    per_group = out_c // groups
    for o in range(out_c):
        g = o // per_group
        for i in range(oh):
            for j in range(ow):
                patch = x[:, g * in_per_group:(g + 1) * in_per_group,
                          i * stride[0]:i * stride[0] + kh, j * stride[1]:j * stride[1] + kw]
                y[:, o, i, j] = (patch * w[o]).sum(axis=(1, 2, 3)) + b[o]
    return y


def pool2d(x, kernel, stride, padding, average):
    x = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    oh = (x.shape[2] - kernel[0]) // stride[0] + 1
    ow = (x.shape[3] - kernel[1]) // stride[1] + 1
    y = np.zeros(x.shape[:2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            window = x[:, :, i * stride[0]:i * stride[0] + kernel[0],
                       j * stride[1]:j * stride[1] + kernel[1]]
            y[:, :, i, j] = window.sum(axis=(2, 3))
    return y / (kernel[0] * kernel[1]) if average else y


def pair(v):
    v = np.asarray(v).reshape(-1)
    return (int(v[0]), int(v[-1]))


def check_margin(value, threshold):
    if np.any(np.abs(value - threshold) < MARGIN):
        raise TooClose


# The primitives without state across steps.
STATELESS = (nir.Affine, nir.Linear, nir.Scale, nir.Conv1d, nir.Conv2d, nir.SumPool2d,
             nir.AvgPool2d, nir.Flatten, nir.Threshold)


def simulate(graph, x):
    """The Output node's value for input x [T, B, *shape], per the conventions above."""
    nodes, edges = flatten_graph(graph)
    (inp,) = [n for n, v in nodes.items() if isinstance(v, nir.Input)]
    (out,) = [n for n, v in nodes.items() if isinstance(v, nir.Output)]
    is_delay = {n: isinstance(v, nir.Delay) for n, v in nodes.items()}
    back, state = set(), {}

    def visit(n):
        state[n] = "open"
        for a, b in edges:
            if a != n or is_delay[b]:
                continue
            if state.get(b) == "open":
                back.add((a, b))
            elif b not in state:
                visit(b)
        state[n] = "done"

    visit(inp)
    for n in nodes:
        if is_delay[n] and n not in state:
            visit(n)
    # A back edge reads here its source's previous step, 0 in the first. snnsim places the delay
    # before the stateless nodes that end the cycle, so in the first step these compute from zeros
    # (docs/export.md): the same only while they map zeros to zeros. No fixture's cycle has a bias
    # or a Threshold (snnTorch's RLeaky fixture checks the bias); refuse one rather than differ.
    for source, _ in back:
        node, passed = source, set()
        while isinstance(nodes[node], STATELESS) and node not in passed:
            passed.add(node)
            if isinstance(nodes[node], (nir.Affine, nir.Conv1d, nir.Conv2d, nir.Threshold)):
                raise NotImplementedError(f"{node}: a cycle without a Delay through a bias or "
                                          "Threshold")
            sources = [a for a, b in edges if b == node]
            if len(sources) != 1:
                break
            node = sources[0]
    # Execution order: Kahn over the edges that order nodes (not back edges, not into Delays).
    ordering = [(a, b) for a, b in edges if (a, b) not in back and not is_delay[b]]
    order, ready = [], [n for n in nodes if not any(b == n for _, b in ordering)]
    while ready:
        n = ready.pop(0)
        order.append(n)
        for a, b in ordering:
            if a == n and all(c in order for c, d in ordering if d == b) and b not in order \
                    and b not in ready:
                ready.append(b)
    assert len(order) == len(nodes), "a cycle without a Delay that the walk did not break"

    steps, batch = x.shape[:2]
    prev, mem, cur_syn, history, outputs = {}, {}, {}, {}, []
    for t in range(steps):
        cur = {}
        for n in order:
            node = nodes[n]
            if n == inp:
                cur[n] = x[t].astype(np.float64)
                continue
            sources = [(a, (a, n) in back) for a, b in edges if b == n]
            if isinstance(node, nir.Delay):
                k = int(np.round(np.asarray(node.delay).reshape(-1)[0] / DT))
                past = history.get(n, [])
                # The zeros take the delay's shape: one delay per element, not one broadcast.
                assert np.ndim(node.delay) > 0, f"{n}: give one delay per element"
                zero = np.zeros((batch,) + np.asarray(node.delay).shape)
                cur[n] = past[t - k] if t - k >= 0 else zero
                continue
            # The sum of the sources, this step's (or the previous step's over a back edge).
            total = None
            for a, delayed in sources:
                if delayed:
                    value = prev.get(a)
                    if value is None:
                        continue
                else:
                    value = cur[a]
                total = value if total is None else total + value
            assert total is not None, f"{n} is fed only by edges into the previous step"
            cur[n] = step(node, n, total, mem, cur_syn)
        for n in order:
            if isinstance(nodes[n], nir.Delay):
                (a,) = [a for a, b in edges if b == n]
                history.setdefault(n, []).append(cur[a])
        outputs.append(cur[out])
        prev = cur
    return np.stack(outputs)


def step(node, name, x, mem, syn):
    """One step of a non-Delay node on input x [B, *shape]."""
    batch = x.shape[0]
    d = lambda a: np.asarray(a, dtype=np.float64)
    if isinstance(node, nir.Output):
        return x
    if isinstance(node, nir.Affine):
        return x @ d(node.weight).T + d(node.bias)
    if isinstance(node, nir.Linear):
        return x @ d(node.weight).T
    if isinstance(node, nir.Scale):
        return x * d(node.scale)
    if isinstance(node, nir.Threshold):
        check_margin(x, d(node.threshold))
        return (x > d(node.threshold)).astype(np.float64)
    if isinstance(node, nir.Flatten):
        shape = nir.ir.utils.calc_flatten_output(list(x.shape[1:]), node.start_dim, node.end_dim)
        return x.reshape((batch,) + tuple(int(s) for s in shape))
    if isinstance(node, nir.Conv2d):
        padding = node.padding
        if isinstance(padding, str):
            padding = (0, 0) if padding == "valid" else tuple(
                (k - 1) // 2 for k in node.weight.shape[2:])
        return conv2d(x, d(node.weight), d(node.bias), pair(node.stride), pair(padding),
                      int(node.groups))
    if isinstance(node, nir.Conv1d):
        padding = node.padding
        if isinstance(padding, str):
            padding = 0 if padding == "valid" else (node.weight.shape[2] - 1) // 2
        y = conv2d(x[:, :, None, :], d(node.weight)[:, :, None, :], d(node.bias),
                   (1, int(node.stride)), (0, int(padding)), int(node.groups))
        return y[:, :, 0, :]
    if isinstance(node, (nir.SumPool2d, nir.AvgPool2d)):
        return pool2d(x, pair(node.kernel_size), pair(node.stride), pair(node.padding),
                      isinstance(node, nir.AvgPool2d))
    # Neurons.
    shape = x.shape[1:]
    full = lambda a: np.broadcast_to(d(a), shape)
    if name not in mem:
        leak = full(node.v_leak) if hasattr(node, "v_leak") else np.zeros(shape)
        mem[name] = np.broadcast_to(leak, x.shape).copy()
        syn[name] = np.zeros(x.shape)
    v = mem[name]
    if isinstance(node, (nir.LIF, nir.LI)):
        v = v + DT / full(node.tau) * (full(node.v_leak) - v + full(node.r) * x)
    elif isinstance(node, (nir.IF, nir.I)):
        v = v + DT * full(node.r) * x
    elif isinstance(node, (nir.CubaLIF, nir.CubaLI)):
        i = syn[name] + DT / full(node.tau_syn) * (full(node.w_in) * x - syn[name])
        syn[name] = i
        v = v + DT / full(node.tau_mem) * (full(node.v_leak) - v + full(node.r) * i)
    else:
        raise TypeError(type(node))
    if isinstance(node, (nir.LIF, nir.IF, nir.CubaLIF)):
        threshold = full(node.v_threshold)
        check_margin(v, threshold)
        spikes = v > threshold
        v = np.where(spikes, full(node.v_reset), v)
        mem[name] = v
        return spikes.astype(np.float64)
    mem[name] = v
    return v


# --- the fixtures -----------------------------------------------------------------------------


def shaped(shape):
    return {"input": np.array(shape)}


def graph(nodes, edges, input_shape, output_shape):
    nodes = dict(nodes)
    nodes["in"] = nir.Input(shaped(input_shape))
    nodes["out"] = nir.Output({"output": np.array(output_shape)})
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": DT})


def lif(rng, n, uniform=False):
    if uniform:
        return nir.LIF(tau=f32(np.full(n, 0.005)), r=f32(np.ones(n)), v_leak=f32(np.zeros(n)),
                       v_threshold=f32(np.ones(n)), v_reset=f32(np.zeros(n)))
    return nir.LIF(tau=f32(rng.uniform(0.002, 0.02, n)), r=f32(rng.uniform(0.5, 2.0, n)),
                   v_leak=f32(rng.uniform(-0.2, 0.2, n)), v_threshold=f32(rng.uniform(0.3, 0.6, n)),
                   v_reset=f32(rng.uniform(-0.3, 0.0, n)))


def affine(rng, out, inp, scale=1.0):
    return nir.Affine(weight=f32(rng.normal(0, scale, (out, inp))),
                      bias=f32(rng.normal(0, 0.2 * scale, out)))


def conv_weight(rng, *shape, scale=0.5):
    return f32(rng.normal(0, scale, shape))


def fixture_affine(rng):
    return graph({"fc": affine(rng, 3, 4)}, [("in", "fc"), ("fc", "out")], [4], [3]), [4], 1.0


def fixture_linear(rng):
    node = nir.Linear(weight=f32(rng.normal(0, 1, (3, 5))))
    return graph({"fc": node}, [("in", "fc"), ("fc", "out")], [5], [3]), [5], 1.0


def fixture_scale(rng):
    node = nir.Scale(scale=f32(rng.uniform(-2, 2, (2, 3))))
    return graph({"scale": node}, [("in", "scale"), ("scale", "out")], [2, 3], [2, 3]), [2, 3], 1.0


def fixture_threshold(rng):
    node = nir.Threshold(threshold=f32(rng.uniform(-0.5, 0.5, 6)))
    return graph({"th": node}, [("in", "th"), ("th", "out")], [6], [6]), [6], 1.0


def fixture_delay(rng):
    node = nir.Delay(delay=np.full(4, 3 * DT))
    return graph({"delay": node}, [("in", "delay"), ("delay", "out")], [4], [4]), [4], 1.0


def fixture_lif(rng):
    nodes = {"fc": affine(rng, 6, 4, 2.0), "lif": lif(rng, 6)}
    return graph(nodes, [("in", "fc"), ("fc", "lif"), ("lif", "out")], [4], [6]), [4], 1.0


def fixture_lif_uniform(rng):
    # r = 1, v_leak = v_reset: the lif op (decay_input) computes it.
    nodes = {"fc": affine(rng, 6, 4, 2.0), "lif": lif(rng, 6, uniform=True)}
    return graph(nodes, [("in", "fc"), ("fc", "lif"), ("lif", "out")], [4], [6]), [4], 1.0


def fixture_cubalif(rng):
    n = 6
    node = nir.CubaLIF(tau_syn=f32(rng.uniform(0.002, 0.01, n)),
                       tau_mem=f32(rng.uniform(0.004, 0.02, n)), r=f32(rng.uniform(0.5, 2.0, n)),
                       v_leak=f32(rng.uniform(-0.1, 0.1, n)),
                       v_threshold=f32(rng.uniform(0.1, 0.3, n)),
                       v_reset=f32(rng.uniform(-0.2, 0.0, n)), w_in=f32(rng.uniform(0.5, 3.0, n)))
    nodes = {"fc": affine(rng, n, 4, 2.0), "cuba": node}
    return graph(nodes, [("in", "fc"), ("fc", "cuba"), ("cuba", "out")], [4], [n]), [4], 1.0


def fixture_cubali(rng):
    n = 5
    node = nir.CubaLI(tau_syn=f32(rng.uniform(0.002, 0.01, n)),
                      tau_mem=f32(rng.uniform(0.004, 0.02, n)), r=f32(rng.uniform(0.5, 2.0, n)),
                      v_leak=f32(rng.uniform(-0.1, 0.1, n)), w_in=f32(rng.uniform(0.5, 3.0, n)))
    nodes = {"fc": affine(rng, n, 4), "cubali": node}
    return graph(nodes, [("in", "fc"), ("fc", "cubali"), ("cubali", "out")], [4], [n]), [4], 1.0


def fixture_li(rng):
    n = 5
    node = nir.LI(tau=f32(rng.uniform(0.002, 0.02, n)), r=f32(rng.uniform(0.5, 2.0, n)),
                  v_leak=f32(rng.uniform(-0.2, 0.2, n)))
    nodes = {"fc": affine(rng, n, 4), "li": node}
    return graph(nodes, [("in", "fc"), ("fc", "li"), ("li", "out")], [4], [n]), [4], 1.0


def fixture_if(rng):
    n = 6
    node = nir.IF(r=f32(rng.uniform(100, 400, n)), v_threshold=f32(rng.uniform(0.5, 1.5, n)),
                  v_reset=f32(rng.uniform(-0.3, 0.0, n)))
    nodes = {"fc": affine(rng, n, 4), "if": node}
    return graph(nodes, [("in", "fc"), ("fc", "if"), ("if", "out")], [4], [n]), [4], 1.0


def fixture_i(rng):
    node = nir.I(r=f32(rng.uniform(50, 200, 3)))
    nodes = {"fc": affine(rng, 3, 4), "i": node}
    return graph(nodes, [("in", "fc"), ("fc", "i"), ("i", "out")], [4], [3]), [4], 1.0


def fixture_conv1d(rng):
    node = nir.Conv1d(input_shape=12, weight=conv_weight(rng, 4, 2, 3), stride=2, padding=1,
                      dilation=1, groups=1, bias=f32(rng.normal(0, 0.1, 4)))
    return graph({"conv": node}, [("in", "conv"), ("conv", "out")], [2, 12], [4, 6]), [2, 12], 1.0


def fixture_conv2d(rng):
    node = nir.Conv2d(input_shape=(6, 5), weight=conv_weight(rng, 4, 2, 3, 3), stride=1,
                      padding="same", dilation=1, groups=1, bias=f32(rng.normal(0, 0.1, 4)))
    edges = [("in", "conv"), ("conv", "out")]
    return graph({"conv": node}, edges, [2, 6, 5], [4, 6, 5]), [2, 6, 5], 1.0


def fixture_sumpool2d(rng):
    node = nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                         padding=np.array([0, 0]))
    edges = [("in", "pool"), ("pool", "out")]
    return graph({"pool": node}, edges, [2, 6, 6], [2, 3, 3]), [2, 6, 6], 1.0


def fixture_avgpool2d(rng):
    node = nir.AvgPool2d(kernel_size=np.array([3, 3]), stride=np.array([2, 2]),
                         padding=np.array([1, 1]))
    edges = [("in", "pool"), ("pool", "out")]
    return graph({"pool": node}, edges, [2, 5, 5], [2, 3, 3]), [2, 5, 5], 1.0


def fixture_flatten(rng):
    # NIR's start_dim indexes the unbatched shape: [2, 3, 4] -> [2, 12].
    node = nir.Flatten(input_type=shaped([2, 3, 4]), start_dim=1, end_dim=-1)
    edges = [("in", "flat"), ("flat", "out")]
    return graph({"flat": node}, edges, [2, 3, 4], [2, 12]), [2, 3, 4], 1.0


def fixture_nested(rng):
    # snnTorch's shape for a recurrent layer: a nested graph input -> lif -> output, with lif's
    # recurrence inside it; the outer edges name the nested graph (nir 1.0.8 refuses "rlif.input").
    inner = nir.NIRGraph(
        nodes={"input": nir.Input(shaped([5])), "lif": lif(rng, 5),
               "w_rec": nir.Linear(weight=f32(rng.normal(0, 0.5, (5, 5)))),
               "output": nir.Output({"output": np.array([5])})},
        edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")])
    nodes = {"fc": affine(rng, 5, 3, 2.0), "rlif": inner, "readout": affine(rng, 2, 5)}
    edges = [("in", "fc"), ("fc", "rlif"), ("rlif", "readout"), ("readout", "out")]
    return graph(nodes, edges, [3], [2]), [3], 1.0


def fixture_recurrent(rng):
    # A cycle without a Delay: lif -> rec -> lif reads the previous step.
    nodes = {"fc": affine(rng, 4, 3, 2.0), "lif": lif(rng, 4),
             "rec": nir.Linear(weight=f32(rng.normal(0, 0.6, (4, 4))))}
    edges = [("in", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "out")]
    return graph(nodes, edges, [3], [4]), [3], 1.0


def fixture_delay_recurrent(rng):
    # Recurrence through a Delay of two steps: no edge is inserted.
    nodes = {"fc": affine(rng, 4, 3, 2.0), "lif": lif(rng, 4),
             "late": nir.Delay(delay=np.full(4, 2 * DT)),
             "rec": nir.Linear(weight=f32(rng.normal(0, 0.6, (4, 4))))}
    edges = [("in", "fc"), ("fc", "lif"), ("lif", "late"), ("late", "rec"), ("rec", "lif"),
             ("lif", "out")]
    return graph(nodes, edges, [3], [4]), [3], 1.0


def fixture_conv_net(rng):
    # (No groups: nir's type inference takes a conv's input channels from weight.shape[1].)
    # conv -> IF (r dt = 1: the if op) -> sum pool -> conv -> LIF -> avg pool -> flatten
    # -> affine -> LIF (uniform, r = tau / dt: the lif op without input decay).
    n = 5
    nodes = {
        "conv1": nir.Conv2d(input_shape=(8, 8), weight=conv_weight(rng, 4, 2, 3, 3), stride=1,
                            padding=1, dilation=1, groups=1, bias=f32(rng.normal(0, 0.1, 4))),
        "if1": nir.IF(r=f32(np.full((4, 8, 8), 1 / DT)), v_threshold=f32(np.full((4, 8, 8), 1.0)),
                      v_reset=f32(np.zeros((4, 8, 8)))),
        "pool1": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                               padding=np.array([0, 0])),
        "conv2": nir.Conv2d(input_shape=(4, 4), weight=conv_weight(rng, 4, 4, 3, 3, scale=0.8),
                            stride=1, padding=0, dilation=1, groups=1,
                            bias=f32(rng.normal(0, 0.1, 4))),
        "lif2": lif(rng, (4, 2, 2)),
        "pool2": nir.AvgPool2d(kernel_size=np.array([2, 2]), stride=np.array([1, 1]),
                               padding=np.array([1, 1])),
        "flat": nir.Flatten(input_type=shaped([4, 3, 3]), start_dim=0, end_dim=-1),
        "fc": affine(rng, n, 36, 1.0),
        "lif3": nir.LIF(tau=f32(np.full(n, 0.004)), r=f32(np.full(n, 4.0)),
                        v_leak=f32(np.zeros(n)), v_threshold=f32(np.full(n, 0.5)),
                        v_reset=f32(np.zeros(n))),
    }
    chain = ["in", "conv1", "if1", "pool1", "conv2", "lif2", "pool2", "flat", "fc", "lif3", "out"]
    return graph(nodes, list(zip(chain, chain[1:])), [2, 8, 8], [n]), [2, 8, 8], 1.5


FIXTURES = {name[len("fixture_"):]: f for name, f in sorted(globals().items())
            if name.startswith("fixture_")}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, make in FIXTURES.items():
        for seed in range(1000):
            rng = np.random.default_rng(seed)
            g, input_shape, scale = make(rng)
            x = f32(rng.normal(0.5, scale, [T, B] + list(input_shape)))
            try:
                y = simulate(g, x)
            except TooClose:
                continue
            break
        else:
            raise SystemExit(f"{name}: no seed keeps every membrane {MARGIN} from its threshold")
        path = OUT / f"{name}.nir"
        # Uncompressed: gzip makes every dataset chunked, which for arrays this small
        # multiplies the file size (HDF5 keeps an index per chunked dataset).
        nir.write(path, g, compression=None)
        nir.read(path)  # the reference's own type checks
        np.save(OUT / f"{name}.input.npy", x)
        np.save(OUT / f"{name}.expected.npy", f32(y))
        print(f"{name}: seed {seed}, output {list(y.shape)}, "
              f"{'spikes ' + str(int(y.sum())) if set(np.unique(y)) <= {0.0, 1.0} else 'analog'}")


if __name__ == "__main__":
    main()
