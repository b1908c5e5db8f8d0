#!/usr/bin/env python3
"""Loads a NIR file with the reference package (`nir.read`, type checks on) and prints it as JSON.

The C++ tests run it on the files snnsim writes (tests/nir_file_test.cpp, the export tests) and
compare what NIR's own reader understood with what was written:

  {"version": "1.0.7",
   "nodes": {"NAME": {"type": "LIF", "fields": {"tau": {"shape": [3], "values": [...]}, ...}}},
   "edges": [["a", "b"], ...]}

A nested NIRGraph appears as {"type": "NIRGraph", "nodes": ..., "edges": ...}. Fields are the
dataclass fields of the node, minus input_type, output_type and metadata (but Flatten's
input_type, which nir writes); Input and Output give their shape. The tests find the package in .venv-tools/ (tools/setup.sh test creates it).

Exit status 0 on success; 1 with nir's error on stderr when the file does not load.
"""
import dataclasses
import json
import sys

import numpy as np

try:
    import nir
except ImportError:
    sys.exit("nir_dump.py: the nir package is not installed (pip install nir h5py)")


def field_json(value):
    if isinstance(value, str):
        return value
    array = np.asarray(value)
    return {"shape": list(array.shape), "values": array.astype(float).ravel().tolist()}


def node_json(node):
    kind = type(node).__name__
    if kind == "NIRGraph":
        return {"type": kind,
                "nodes": {name: node_json(child) for name, child in node.nodes.items()},
                "edges": [list(edge) for edge in node.edges]}
    if kind in ("Input", "Output"):
        types = node.input_type if kind == "Input" else node.output_type
        shape = next(iter(types.values()))
        return {"type": kind, "fields": {"shape": field_json(shape)}}
    fields = {}
    for f in dataclasses.fields(node):
        if f.name in ("input_type", "output_type", "metadata"):
            continue
        value = getattr(node, f.name)
        if value is not None:
            fields[f.name] = field_json(value)
    if kind == "Flatten" and node.input_type["input"] is not None:
        fields["input_type"] = field_json(node.input_type["input"])  # the one type nir writes
    return {"type": kind, "fields": fields}


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: nir_dump.py FILE.nir")
    try:
        graph = nir.read(sys.argv[1])
    except Exception as error:  # nir raises many kinds; any of them means "does not load"
        sys.exit(f"nir.read failed: {type(error).__name__}: {error}")
    result = node_json(graph)
    result["version"] = nir.serialization.read_version(sys.argv[1])
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
