#!/usr/bin/env python3
"""Seeds of the fuzz corpus (tests/fuzz/corpus/, docs/fuzzing.md) that no fixture provides.

The fixtures (tests/fixtures/, examples/) are copied into the corpus as they are; this script
adds small files of the variants the readers accept and the fixtures do not show, so that the
fuzzers start with every branch of each format within reach:

  npy/          every supported dtype, 0-d, Fortran order, format versions 2.0 and 3.0
  safetensors/  every supported dtype, metadata, an empty tensor
  hdf5_weights/ the weights of tests/fuzz/hdf5_weights_fuzz.cpp's graph: contiguous, chunked and
                gzip-compressed, float64, with BatchNorm's int64 counter; and int64 1-D indices
  events/       .npy [N, 4] and HDF5 x, y, t, p files of events on a 34 x 34 sensor
  trace/        traces laid out as docs/trace-format.md says: a population run with spikes and
                sampled state, the same interrupted, a layer-graph run with samples and values;
                uncompressed with small chunks (so that mutations reach the reader, not zlib), and
                one compressed as snnsim writes them

Run from the repository root with numpy and h5py (the tests' venv has both):

  .venv-tools/bin/python tools/reference/make_fuzz_seeds.py
"""
import json
import pathlib
import struct

import h5py
import numpy as np

CORPUS = pathlib.Path("tests/fuzz/corpus")
rng = np.random.default_rng(20261201)


def npy_seeds(folder: pathlib.Path):
    folder.mkdir(parents=True, exist_ok=True)
    for dtype in ["<f2", "<f4", "<f8", "|i1", "<i2", "<i4", "<i8", "|u1", "<u2", "<u4", "<u8",
                  "|b1"]:
        values = rng.integers(0, 2, size=(2, 3)).astype(dtype)
        np.save(folder / f"dtype-{dtype[1:]}.npy", values)
    np.save(folder / "scalar.npy", np.array(1.5, dtype="<f4"))
    np.save(folder / "empty.npy", np.zeros((0, 3), dtype="<f4"))
    np.save(folder / "fortran.npy", np.asfortranarray(rng.random((3, 2)).astype("<f4")))
    for version in [(2, 0), (3, 0)]:
        with open(folder / f"version-{version[0]}.npy", "wb") as out:
            np.lib.format.write_array(out, rng.random(4).astype("<f4"), version=version)


def safetensors_bytes(tensors, metadata=None):
    """The safetensors layout: an 8-byte little-endian header size, the JSON header, the data."""
    header, data = {}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data),
                                                                         len(data) + len(raw)]}
        data += raw
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def safetensors_seeds(folder: pathlib.Path):
    folder.mkdir(parents=True, exist_ok=True)
    numpy_types = {"F16": "<f2", "F32": "<f4", "F64": "<f8", "I8": "|i1", "I16": "<i2",
                   "I32": "<i4", "I64": "<i8", "U8": "|u1", "U16": "<u2", "U32": "<u4",
                   "U64": "<u8", "BOOL": "|b1"}
    tensors = {f"t.{name.lower()}": (name, [2, 2], rng.integers(0, 2, 4).astype(numpy_type)
                                     .tobytes())
               for name, numpy_type in numpy_types.items()}
    # bfloat16: the upper halves of float32s.
    tensors["t.bf16"] = ("BF16", [3], (np.array([1.0, -2.5, 0.0], "<f4").view("<u4") >> 16)
                         .astype("<u2").tobytes())
    (folder / "dtypes.safetensors").write_bytes(safetensors_bytes(tensors))
    (folder / "metadata.safetensors").write_bytes(safetensors_bytes(
        {"w": ("F32", [2], np.array([1, 2], "<f4").tobytes()),
         "empty": ("F32", [0, 4], b"")}, {"format": "pt", "note": "seed"}))


def weight_tensors(dtype):
    return {
        "conv.weight": rng.standard_normal((3, 2, 3, 3)).astype(dtype),
        "conv.bias": rng.standard_normal(3).astype(dtype),
        "bn.weight": np.ones(3, dtype), "bn.bias": np.zeros(3, dtype),
        "bn.running_mean": rng.standard_normal(3).astype(dtype),
        "bn.running_var": np.ones(3, dtype),
        "fc.weight": rng.standard_normal((4, 27)).astype(dtype),
        "fc.bias": np.zeros(4, dtype),
    }


def hdf5_weight_seeds(folder: pathlib.Path):
    folder.mkdir(parents=True, exist_ok=True)
    for name, options, dtype in [("contiguous", {}, "<f4"), ("chunked", {"chunks": True}, "<f4"),
                                 ("gzip", {"compression": "gzip"}, "<f4"),
                                 ("float64", {}, "<f8")]:
        with h5py.File(folder / f"{name}.h5", "w", libver="latest") as f:
            for tensor, values in weight_tensors(dtype).items():
                f.create_dataset(tensor, data=values, **options)
            if name == "chunked":
                f.create_dataset("bn.num_batches_tracked", data=np.int64(100))
    with h5py.File(folder / "indices.h5", "w") as f:
        f.create_dataset("connectivity/source", data=np.arange(6, dtype="<i8"))
        f.create_dataset("connectivity/target", data=np.arange(6, dtype="<i8")[::-1])
        f.create_dataset("weight", data=rng.random(6).astype("<f4"))


def events(n):
    x = rng.integers(0, 34, n)
    y = rng.integers(0, 34, n)
    t = np.sort(rng.integers(0, 300_000, n))
    p = rng.integers(0, 2, n)
    return x, y, t, p


def event_seeds(folder: pathlib.Path):
    folder.mkdir(parents=True, exist_ok=True)
    x, y, t, p = events(40)
    np.save(folder / "events.npy", np.stack([x, y, t, p], axis=1).astype("<f4"))
    np.save(folder / "events-signed.npy", np.stack([x, y, t, 2 * p - 1], axis=1).astype("<f8"))
    with h5py.File(folder / "events.h5", "w") as f:
        for name, values, dtype in [("x", x, "<u2"), ("y", y, "<u2"), ("t", t, "<i8"),
                                    ("p", p, "|u1")]:
            f.create_dataset(name, data=values.astype(dtype))
    with h5py.File(folder / "events-float.h5", "w") as f:
        for name, values in zip("xytp", events(12)):
            f.create_dataset(name, data=values.astype("<f8"), chunks=True)


def string_attribute(group, name, value):
    group.attrs.create(name, value, dtype=h5py.string_dtype("utf-8"))


def root_attributes(f, kind, dt, duration, steps, complete):
    string_attribute(f, "format", "snnsim-trace")
    f.attrs.create("version", 1, dtype="<u8")
    f.attrs.create("dt", dt, dtype="<f8")
    f.attrs.create("duration", duration, dtype="<f8")
    f.attrs.create("steps_completed", steps if complete else 0, dtype="<u8")
    f.attrs.create("complete", int(complete), dtype="<i4")
    f.attrs.create("seed", 7, dtype="<u8")
    string_attribute(f, "snnsim_version", "0.1.0")
    string_attribute(f, "network", "{}")
    string_attribute(f, "network_path", "net.json")
    string_attribute(f, "backend", "cpu")
    f.attrs.create("threads", 1, dtype="<i4")
    string_attribute(f, "kind", kind)


def spike_datasets(group, size, steps, indices, storage, samples=None, values=None):
    group.attrs.create("size", size, dtype="<u4")
    spikes = group.create_group("spikes")
    spikes.attrs.create("count", len(steps), dtype="<u8")
    columns = [("step", steps, "<u8"), ("index", indices, "<u4")]
    if samples is not None:
        columns.append(("sample", samples, "<u4"))
    if values is not None:
        columns.append(("value", values, "<f4"))
    for name, data, dtype in columns:
        spikes.create_dataset(name, data=np.asarray(data, dtype), maxshape=(None,), **storage)


def population_trace(path, storage, complete=True):
    dt, steps = 1e-4, 500
    with h5py.File(path, "w") as f:
        root_attributes(f, "population", dt, steps * dt, steps, complete)
        populations = f.create_group("populations")
        for name, size, count in [("E", 8, 60), ("I", 2, 15)]:
            group = populations.create_group(name)
            spike_steps = np.sort(rng.integers(0, steps if complete else steps // 2, count))
            spike_datasets(group, size, spike_steps, rng.integers(0, size, count), storage)
        state = populations["I"].create_group("state")
        v = state.create_dataset("v", data=rng.standard_normal((50, 2)).astype("<f4") - 65,
                                 maxshape=(None, 2), **storage)
        string_attribute(v, "unit", "mV")
        v.attrs.create("neurons", np.array([0, 1], "<u4"))
        v.attrs.create("interval_steps", 10, dtype="<u8")
        v.attrs.create("interval", 10 * dt, dtype="<f8")
        v.attrs.create("first_step", 0, dtype="<u8")


def layer_graph_trace(path, storage):
    timesteps, samples = 4, 2
    with h5py.File(path, "w") as f:
        root_attributes(f, "layer_graph", 1.0, timesteps, timesteps, True)
        f.attrs.create("timesteps", timesteps, dtype="<u8")
        f.attrs.create("samples", samples, dtype="<u8")
        populations = f.create_group("populations")
        for name, op, shape, count in [("fc1", "linear", [6], 0), ("lif1", "lif", [6], 20)]:
            group = populations.create_group(name)
            order = np.lexsort((rng.integers(0, 6, count), rng.integers(0, timesteps, count)))
            spike_datasets(group, 6, np.sort(rng.integers(0, timesteps, count)),
                           rng.integers(0, 6, count)[order], storage,
                           samples=np.repeat([0, 1], count // 2), values=np.ones(count))
            string_attribute(group, "op", op)
            group.attrs.create("shape", np.array(shape, "<u4"))
            for attribute in ["firing_rate", "acs", "macs", "energy_pj"]:
                group.attrs.create(attribute, 0.25, dtype="<f8")


def trace_seeds(folder: pathlib.Path):
    folder.mkdir(parents=True, exist_ok=True)
    small_chunks = {"chunks": (16,)}
    population_trace(folder / "population.h5", {"chunks": True})
    population_trace(folder / "interrupted.h5", {"chunks": True}, complete=False)
    population_trace(folder / "compressed.h5", {"chunks": True, "shuffle": True,
                                                "compression": "gzip", "compression_opts": 4})
    layer_graph_trace(folder / "layer-graph.h5", small_chunks)


npy_seeds(CORPUS / "npy")
safetensors_seeds(CORPUS / "safetensors")
hdf5_weight_seeds(CORPUS / "hdf5_weights")
event_seeds(CORPUS / "events")
trace_seeds(CORPUS / "trace")
