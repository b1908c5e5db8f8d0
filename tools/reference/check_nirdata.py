#!/usr/bin/env python3
"""Checks a `snnsim trace export --format nirdata` file with NIR's own reader.

Loads FILE.nir with nir.read_data (nir >= 1.0.8, the first release with NIRGraphData) and checks
what docs/trace-analysis.md ("export") promises: every observable is EventData or ValuedEventData,
idx and time have the same [n_samples, n_events] shape, each row's events come first in time
order followed only by padding (idx = -1, time = +inf), indices lie in [0, n_neurons) and times
in [0, t_max). With TRACE.h5 given too, the event counts must equal the trace's spike counts.

The C++ tests (tests/trace_export_test.cpp) check the same layout with the HDF5 C API; this
script is the cross-check by an independent reader, run by hand:

  python3 -m venv /tmp/nir-venv && /tmp/nir-venv/bin/pip install nir h5py
  build/snnsim trace export run.h5 --format nirdata -o run.nir
  /tmp/nir-venv/bin/python tools/reference/check_nirdata.py run.nir [run.h5]

Exit status 0 when every check passes; the first failure is printed and exits 1.
"""
import sys

import numpy as np

try:
    import nir
except ImportError:
    sys.exit("check_nirdata.py: the nir package is not installed (pip install nir h5py)")


def check_observable(name, data):
    kind = type(data).__name__
    assert kind in ("EventData", "ValuedEventData"), f"{name}: unexpected {kind}"
    assert data.idx.shape == data.time.shape, f"{name}: idx {data.idx.shape} vs time {data.time.shape}"
    assert data.idx.ndim == 2, f"{name}: idx is not [n_samples, n_events]"
    events = 0
    for sample, (idx, time) in enumerate(zip(data.idx, data.time)):
        valid = idx != -1
        count = int(valid.sum())
        assert valid[:count].all(), f"{name}: sample {sample} has padding before events"
        assert np.isinf(time[count:]).all(), f"{name}: sample {sample}: padding time is not +inf"
        assert (idx[:count] >= 0).all() and (idx[:count] < data.n_neurons).all(), \
            f"{name}: sample {sample}: index outside [0, {data.n_neurons})"
        assert (time[:count] >= 0).all() and (time[:count] < data.t_max).all(), \
            f"{name}: sample {sample}: time outside [0, {data.t_max})"
        assert (np.diff(time[:count]) >= 0).all(), f"{name}: sample {sample} is not in time order"
        events += count
    return events


def main(argv):
    if len(argv) not in (2, 3):
        sys.exit(__doc__)
    graph = nir.read_data(argv[1])
    counts = {}
    for node_name, node in graph.nodes.items():
        for obs_name, data in node.observables.items():
            counts[node_name] = check_observable(f"{node_name}/{obs_name}", data)
    if len(argv) == 3:
        import h5py

        with h5py.File(argv[2], "r") as trace:
            for node_name, events in counts.items():
                spikes = trace[f"populations/{node_name}/spikes/step"].shape[0]
                assert events == spikes, f"{node_name}: {events} events, trace has {spikes} spikes"
    total = sum(counts.values())
    print(f"{argv[1]}: {len(counts)} nodes, {total} events: ok")


if __name__ == "__main__":
    try:
        main(sys.argv)
    except AssertionError as failure:
        sys.exit(f"check_nirdata.py: {failure}")
