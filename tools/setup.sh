#!/usr/bin/env bash
# Sets snnsim up on a fresh Debian machine and then runs the main example or the test suite:
#   tools/setup.sh run    install what is missing, build, simulate examples/coba.json
#   tools/setup.sh test   install what is missing (and NIR's Python reader), build, run every test,
#                         then fuzz every reader of untrusted input for SNNSIM_FUZZ_SECONDS s
#                         each (default 30; 0: no fuzzing) and SNNSIM_FUZZ_MUTATIONS blind
#                         mutations of its seeds (default 100) with tools/fuzz.sh, built with -O0
#                         to keep CI within its 20 minutes
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-run}"
case "$mode" in run|test) ;; *) echo "usage: tools/setup.sh run|test" >&2; exit 2;; esac

# One line as each phase starts and one with its time as it ends, so a slow step can be seen.
phase_name="" phase_start=0
phase() {
  [ -n "$phase_name" ] && echo "setup: $phase_name took $((SECONDS - phase_start)) s" >&2
  phase_name="$1" phase_start=$SECONDS
  [ -n "$phase_name" ] && echo "setup: $phase_name..." >&2
  return 0
}

phase "checking Debian packages"

packages=(cmake g++ make pkg-config libhdf5-dev libboost-program-options-dev nlohmann-json3-dev libgtest-dev libopenblas-openmp-dev libpng-dev libcairo2-dev)
# Distributed runs (docs/distributed.md): Open MPI, its headers and mpirun.
packages+=(libopenmpi-dev openmpi-bin)
# The fuzzers (tools/fuzz.sh, docs/fuzzing.md): clang with libFuzzer and the sanitizers, and
# clang's OpenMP runtime.
fuzz_seconds="${SNNSIM_FUZZ_SECONDS:-30}"
[ "$mode" = test ] || fuzz_seconds=0
if [ "$fuzz_seconds" != 0 ]; then
  packages+=(clang libclang-rt-14-dev libomp-14-dev)
fi
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The tests read the NIR files snnsim writes back with NIR's own reader (`pip install nir`), in a
# virtual environment of the checkout; without Python or PyPI those checks are skipped, saying so.
if [ "$mode" = test ] && [ ! -x .venv-tools/bin/python ] && command -v python3 >/dev/null; then
  phase "installing NIR's Python reader"
  echo "setup: the nir Python package goes into .venv-tools/" >&2
  if ! { python3 -m venv .venv-tools && .venv-tools/bin/pip install -q nir h5py numpy; }; then
    echo "setup: could not install nir; the tests that read NIR files with it will skip" >&2
    rm -rf .venv-tools
  fi
fi

jobs="$(nproc)"
phase "configuring (cmake)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
phase "building with $jobs jobs"
cmake --build build -j "$jobs"

if [ "$mode" = run ]; then
  phase "running examples/coba.json"
  build/snnsim run examples/coba.json -o coba.h5
else
  phase "running the test suite"
  ctest --test-dir build --output-on-failure -j "$jobs" --label-exclude gpu
  if [ "$fuzz_seconds" != 0 ]; then
    phase "fuzzing every reader for $fuzz_seconds s, $jobs at a time"
    MUTATIONS="${SNNSIM_FUZZ_MUTATIONS:-100}" FUZZ_PARALLEL="$jobs" FUZZ_OPT=-O0 \
      tools/fuzz.sh "$fuzz_seconds"
  fi
fi
phase ""
