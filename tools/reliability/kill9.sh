#!/usr/bin/env bash
# kill -9 proof of the trace's flushes (docs/trace-format.md, "Writing, interruption and failure"):
# runs a COBA network with a trace, kills it with SIGKILL at KILLS random moments, and checks each
# `.partial` file it leaves with `snnsim trace summary` and with h5py: readable, marked incomplete,
# holding exactly the spikes of a complete reference run up to its steps_completed, and losing at
# most one flush interval (10 s of wall time; 2 s at the start) of what the run had simulated.
#
# Not part of the test suite: it takes about KILLS / 2 + 1 times the run's wall time.
#
#   tools/reliability/kill9.sh [N] [DURATION] [KILLS]      (defaults: 100000 20s 20)
#
# Environment: SNNSIM (default build/snnsim), PYTHON with h5py and numpy (default
# .venv-tools/bin/python), THREADS (default 2), SEED (random moments; default 1), WORK (a scratch
# folder; default a new temporary one, removed at the end). Needs script(1) (util-linux): the
# run's progress line, drawn on a terminal every 100 ms, tells how far it had got when killed.
set -euo pipefail

N=${1:-100000}
DURATION=${2:-20s}
KILLS=${3:-20}
SNNSIM=${SNNSIM:-build/snnsim}
PYTHON=${PYTHON:-.venv-tools/bin/python}
THREADS=${THREADS:-2}
SEED=${SEED:-1}
FLUSH_INTERVAL_S=10 # sim/simulation.cpp: kFlushInterval
FIRST_FLUSH_WALL_S=2 # kFirstFlushWall
SLACK_S=0.5          # progress lines come every 100 ms; plus the step in progress
NETWORK=$(dirname "$0")/../../examples/coba.json

cleanup_work=false
if [[ -z ${WORK:-} ]]; then
  WORK=$(mktemp -d)
  cleanup_work=true
fi
child=""
finish() {
  if [[ -n $child ]] && kill -0 "$child" 2>/dev/null; then kill -9 "$child"; fi
  if $cleanup_work; then rm -rf "$WORK"; fi
}
trap finish EXIT

run_args=(run "$NETWORK" -p "N=$N" --duration "$DURATION" -t "$THREADS")

# Runs snnsim on a terminal (script -c) with its output in $1.log and its trace at $1.h5, in the
# background: sets $child to script's process, whose child is snnsim.
start_run() {
  local name=$1
  rm -f "$WORK/$name.h5" "$WORK/$name.h5.partial"
  script -qfec "exec $SNNSIM ${run_args[*]} -o $WORK/$name.h5" "$WORK/$name.log" >/dev/null &
  child=$!
}

wait_for_file() {
  while [[ ! -e $1 ]]; do
    kill -0 "$child" 2>/dev/null || { echo "kill9: the run ended before $1 appeared" >&2; exit 1; }
    sleep 0.05
  done
}

echo "kill9: reference run of COBA N=$N for $DURATION ($THREADS threads)"
start_run reference
wait_for_file "$WORK/reference.h5.partial"
started=$(date +%s.%N)
wait "$child"
child=""
run_wall=$(echo "$(date +%s.%N) - $started" | bc)
echo "kill9: the run took $run_wall s from the trace's creation to its end"

"$PYTHON" - "$WORK/reference.h5" <<'EOF'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    assert f.attrs["complete"] == 1
    print("kill9: reference trace: %d steps, %d spikes" % (f.attrs["steps_completed"],
          sum(f["populations"][p]["spikes"]["step"].shape[0] for p in f["populations"])))
EOF

RANDOM=$SEED
readable=0
results="$WORK/results.txt"
: >"$results"
k=0
while ((k < KILLS)); do
  # A moment uniform over the run: from the trace's creation to the reference run's end.
  delay=$(echo "scale=3; $run_wall * ($RANDOM * 32768 + $RANDOM) / 1073741824" | bc)
  start_run killed
  wait_for_file "$WORK/killed.h5.partial"
  sleep "$delay"
  # A moment after the run's end (runs vary) is drawn again: it kills nothing.
  snnsim_pid=$(pgrep -P "$child" || true)
  if [[ -z $snnsim_pid ]] || ! kill -9 "$snnsim_pid" 2>/dev/null; then
    echo "kill9: at $delay s the run had already ended; another moment" >&2
    wait "$child" || true
    child=""
    continue
  fi
  wait "$child" || true
  child=""
  k=$((k + 1))
  partial="$WORK/killed.h5.partial"
  # Killed before the first flush (within 100 ms simulated or 2 s), the file holds no step: the
  # summary says so in one line, which counts as reading it.
  summary_ok=0
  if [[ -e $partial ]]; then
    "$SNNSIM" trace summary "$partial" >"$WORK/summary.txt" 2>&1 || true
    if grep -q "incomplete: it holds the first\|holds no simulated step" "$WORK/summary.txt"; then
      summary_ok=1
    fi
  fi
  # h5py: the file, its consistency, its spikes against the reference run's, and the loss.
  if "$PYTHON" - "$partial" "$WORK/reference.h5" "$WORK/killed.log" "$k" "$delay" "$summary_ok" \
    "$FLUSH_INTERVAL_S" "$FIRST_FLUSH_WALL_S" "$SLACK_S" >>"$results" <<'EOF'; then
import re, sys
import h5py
import numpy as np

partial, reference, log, k, delay, summary_ok = sys.argv[1:7]
interval, first_wall, slack = map(float, sys.argv[7:10])
problems = []
steps, dt = 0, 0.0


def check():
    global steps, dt
    f, ref = h5py.File(partial, "r"), h5py.File(reference, "r")
    assert f.attrs["format"] == "snnsim-trace"
    if f.attrs["complete"] != 0:
        problems.append("complete is not 0")
    steps = int(f.attrs["steps_completed"])
    dt = float(f.attrs["dt"])
    for name in ref["populations"]:
        mine, theirs = f["populations"][name]["spikes"], ref["populations"][name]["spikes"]
        step, index = mine["step"][:], mine["index"][:]
        if len(step) != len(index) or mine.attrs["count"] != len(step):
            problems.append(name + ": spike datasets and count disagree")
        if len(step) and (step[-1] > steps or np.any(np.diff(step.astype(np.int64)) < 0)):
            problems.append(name + ": spikes out of order or past steps_completed")
        keep = np.searchsorted(step, steps)
        want = np.searchsorted(theirs["step"][:], steps)
        if keep != want or not (np.array_equal(step[:keep], theirs["step"][:want]) and
                                np.array_equal(index[:keep], theirs["index"][:want])):
            problems.append(name + ": spikes before steps_completed differ from the reference")
        for var, data in (f["populations"][name].get("state") or {}).items():
            rows_needed = -(-steps // int(data.attrs["interval_steps"]))
            if data.shape[0] < rows_needed:
                problems.append("%s/%s: %d rows, expected at least %d" % (name, var, data.shape[0],
                                                                           rows_needed))


try:
    check()
except Exception as error:  # an unreadable file: what h5py says
    problems.append("h5py: %s" % str(error).splitlines()[-1])
# How far the run had got when killed, from its last progress line, and when it had got as far as
# the file goes (the first line at or past steps_completed): the loss, in wall and simulated time.
text = open(log, errors="replace").read()
lines = [(float(s), float(w)) for s, w in
         re.findall(r"([0-9.]+)/[0-9.]+ s simulated\s+([0-9.]+) s wall", text)]
flushed_s = steps * dt
if lines:
    reached_s, killed_wall = lines[-1]
    after = [w for s, w in lines if s >= flushed_s]
    flush_wall = after[0] if after else killed_wall
    loss_wall = max(0.0, killed_wall - flush_wall)
    loss_sim = max(0.0, reached_s - flushed_s)
    bound = (interval if steps > 0 else first_wall) + slack
    if loss_wall > bound:
        problems.append("lost %.2f s of wall time, more than %.2f s" % (loss_wall, bound))
else:
    loss_wall = loss_sim = float("nan")
if summary_ok != "1":
    problems.append("snnsim trace summary failed")
print("kill %s at %6s s: steps_completed %8d (%.3f s simulated), loss %.2f s wall / %.3f s "
      "simulated: %s" % (k, delay, steps, flushed_s, loss_wall, loss_sim,
                         "ok" if not problems else "; ".join(problems)))
sys.exit(1 if problems else 0)
EOF
    readable=$((readable + 1))
  fi
  tail -n 1 "$results"
  rm -f "$partial"
done

echo "kill9: $readable of $KILLS partial traces readable and consistent (snnsim trace summary, h5py)"
"$PYTHON" - "$results" <<'EOF'
import re, sys
losses = [(float(w), float(s)) for w, s in
          re.findall(r"loss ([0-9.]+) s wall / ([0-9.]+) s simulated", open(sys.argv[1]).read())]
if losses:
    print("kill9: largest loss %.2f s of wall time, %.3f s simulated" %
          (max(w for w, _ in losses), max(s for _, s in losses)))
EOF
[[ $readable -eq $KILLS ]]
