#!/usr/bin/env bash
# Fuzzes every reader of untrusted input (docs/fuzzing.md) with its libFuzzer harness of
# tests/fuzz/, built with clang, ASan and UBSan in build-fuzz/:
#
#   tools/fuzz.sh [SECONDS] [TARGET...]   libFuzzer for SECONDS (default 30) per target, then a
#                                         pass of MUTATIONS (default 1000) blind random mutations
#                                         of the target's seeds, each input run once
#   tools/fuzz.sh replay [TARGET...]      runs the saved crashes of tests/fuzz/crashes/ again and
#                                         says which still fail (fixed ones belong in the corpus)
#
# Targets: network_json layer_graph_json nir safetensors npy trace hdf5_weights events wordpiece
# (default: all). Environment: MUTATIONS, FUZZ_TIMEOUT (seconds per input, default 10), FUZZ_RSS_MB
# (default 2048), FUZZ_JOBS (build jobs, default nproc), FUZZ_PARALLEL (targets fuzzed at once,
# default 1), FUZZ_OPT (the readers' optimisation, default -O1; -O0 builds in two thirds of the
# time and fuzzes the JSON readers some 20 times slower).
#
# Prints one line per target and phase: inputs run, findings, seconds. A finding (crash,
# sanitizer report, undocumented exception, timeout, out of memory) is saved as
# tests/fuzz/crashes/TARGET/KIND-HASH with its log next to it (KIND-HASH.log); the script exits
# 1 when there was any.
set -euo pipefail
cd "$(dirname "$0")/.."

all_targets=(network_json layer_graph_json nir safetensors npy trace hdf5_weights events wordpiece)
mode=fuzz
seconds="${FUZZ_SECONDS:-30}"
if [ "${1:-}" = replay ]; then
  mode=replay
  shift
elif [[ "${1:-}" =~ ^[0-9]+$ ]]; then
  seconds="$1"
  shift
fi
targets=("$@")
[ "${#targets[@]}" -eq 0 ] && targets=("${all_targets[@]}")
for target in "${targets[@]}"; do
  if [ ! -d "tests/fuzz/corpus/$target" ]; then
    echo "fuzz: unknown target '$target'; targets: ${all_targets[*]}" >&2
    exit 2
  fi
done
mutations="${MUTATIONS:-1000}"
timeout="${FUZZ_TIMEOUT:-10}"
rss_mb="${FUZZ_RSS_MB:-2048}"
parallel="${FUZZ_PARALLEL:-1}"
build=build-fuzz

optimization="${FUZZ_OPT:--O1}"
echo "fuzz: building $build (clang $optimization, ASan, UBSan, libFuzzer)" >&2
mkdir -p "$build"
# Without CUDA or MPI: the readers need neither (and CI thereby compiles the engine without MPI).
if ! { cmake -S . -B "$build" -DSNNSIM_FUZZ=ON -DSNNSIM_CUDA=OFF -DSNNSIM_MPI=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=$optimization -gline-tables-only" \
  "-DCMAKE_C_FLAGS_RELWITHDEBINFO=$optimization" &&
  cmake --build "$build" -j "${FUZZ_JOBS:-$(nproc)}" --target fuzzers; } >"$build/fuzz-build.log" 2>&1; then
  tail -n 40 "$build/fuzz-build.log" >&2
  echo "fuzz: the build failed; see $build/fuzz-build.log" >&2
  exit 2
fi

# Sanitizers: stop at the first report; the leaks suppressed are those of libraries
# (tests/fuzz/lsan.supp). An allocation over 1 GiB fails as glibc's does, with NULL, as it does
# for the HDF5 structure check, whose memory limit the sanitizer's address space rules out
# (sim/hdf5_util.cpp); libhdf5 handles it, snnsim's own code must not need it. One thread: the
# engine's OpenMP loops would only add noise.
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:allocator_may_return_null=1:max_allocation_size_mb=1024"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp"
export OMP_NUM_THREADS=1
work="$build/fuzz-work"
rm -rf "$work"
mkdir -p "$work"
# The artifact prefix: where libFuzzer writes an input that failed, also from the HDF5 check's
# forked children, which die on purpose (sim/hdf5_util.cpp). The findings themselves are saved
# by save_finding below.
libfuzzer_options=(-timeout="$timeout" -rss_limit_mb="$rss_mb" -malloc_limit_mb="$rss_mb"
  -print_final_stats=1 -artifact_prefix="$work/artifact-")
findings_total=0

# Saves the input a run of TARGET failed on, named by the kind of failure libFuzzer or the
# sanitizers reported and by the input's hash, with the run's log: prints the saved path.
save_finding() {
  local target="$1" input="$2" log="$3" kind
  # The last report is the run's own (the HDF5 check's forked children may print before it).
  kind="$(grep -o -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer): [a-z-]+|runtime error|fuzz: [a-z ]+|ALARM: working on the last Unit|out-of-memory' "$log" |
    tail -n 1 | sed -E 's/ERROR: //; s/ALARM.*/timeout/; s/runtime error/ubsan/; s/^fuzz: //; s/[^A-Za-z0-9]+/-/g' | tr 'A-Z' 'a-z')"
  kind="${kind:-crash}"
  local folder="tests/fuzz/crashes/$target"
  local name
  name="$kind-$(sha1sum "$input" | cut -c1-12)"
  mkdir -p "$folder"
  cp "$input" "$folder/$name"
  cp "$log" "$folder/$name.log"
  echo "$folder/$name"
}

# Runs FILES one by one through TARGET's binary (libFuzzer runs each file given as an argument
# once); after a failure it goes on with the next file. Sets `runs` and `findings`.
run_inputs() {
  local target="$1"
  shift
  local files=("$@") log="$work/$target-inputs.log"
  runs=0
  findings=0
  while [ "${#files[@]}" -gt 0 ]; do
    # (The braces keep bash's "Aborted" notice of a crashed run off the terminal.)
    if { "$build/tests/fuzz/fuzz_$target" "${libfuzzer_options[@]}" "${files[@]}" >"$log" 2>&1; } 2>/dev/null; then
      runs=$((runs + ${#files[@]}))
      return
    fi
    # The failing input is the last one libFuzzer announced.
    local failed
    failed="$(grep -E '^Running: ' "$log" | tail -n 1 | sed 's/^Running: //')"
    local index=0
    while [ "$index" -lt "${#files[@]}" ] && [ "${files[$index]}" != "$failed" ]; do
      index=$((index + 1))
    done
    if [ "$index" -ge "${#files[@]}" ]; then
      echo "fuzz: $target failed before running an input; see $log" >&2
      findings=$((findings + 1))
      return
    fi
    runs=$((runs + index + 1))
    findings=$((findings + 1))
    echo "  finding: $(save_finding "$target" "$failed" "$log")"
    files=("${files[@]:$((index + 1))}")
  done
}

report() {
  printf '%-17s %-10s %9s inputs %4s findings %5ss\n' "$1" "$2" "$3" "$4" "$5"
}

if [ "$mode" = replay ]; then
  for target in "${targets[@]}"; do
    shopt -s nullglob
    saved=()
    for file in tests/fuzz/crashes/"$target"/*; do
      [[ "$file" == *.log ]] || saved+=("$file")
    done
    shopt -u nullglob
    [ "${#saved[@]}" -eq 0 ] && continue
    for file in "${saved[@]}"; do
      if { "$build/tests/fuzz/fuzz_$target" "${libfuzzer_options[@]}" "$file" >"$work/replay.log" 2>&1; } 2>/dev/null; then
        echo "fixed     $file (move it to tests/fuzz/corpus/$target/ as a regression seed)"
      else
        echo "failing   $file"
        findings_total=$((findings_total + 1))
      fi
    done
  done
  [ "$findings_total" -eq 0 ] || exit 1
  exit 0
fi

# Fuzzes TARGET: libFuzzer, then the blind mutations. Prints its report lines and, last, its
# number of findings.
fuzz_target() {
  local target="$1" binary="$build/tests/fuzz/fuzz_$1" total=0
  # libFuzzer: new inputs go to a scratch copy of the corpus, the committed one only grows by hand.
  local corpus="$work/corpus-$target" log="$work/$target-libfuzzer.log"
  mkdir -p "$corpus" "tests/fuzz/crashes/$target"
  local start=$SECONDS status=0
  { "$binary" "${libfuzzer_options[@]}" -max_total_time="$seconds" \
    "$corpus" "tests/fuzz/corpus/$target" >"$log" 2>&1; } \
    2>/dev/null || status=$?
  # The last statistics and artifact are the run's own: the HDF5 check's forked children print
  # theirs when they die (sim/hdf5_util.cpp).
  local executions
  executions="$(grep -o -E 'stat::number_of_executed_units: [0-9]+' "$log" | tail -n 1 | grep -o -E '[0-9]+$' || echo 0)"
  findings=0
  if [ "$status" -ne 0 ]; then
    findings=1
    local artifact
    artifact="$(grep -o -E "Test unit written to [^ ]+" "$log" | tail -n 1 | sed 's/Test unit written to //')"
    if [ -n "$artifact" ] && [ -f "$artifact" ]; then
      echo "  finding: $(save_finding "$target" "$artifact" "$log")"
    else
      echo "  finding without a saved input; see $log"
    fi
  fi
  report "$target" libfuzzer "$executions" "$findings" "$((SECONDS - start))"
  total=$((total + findings))

  # Blind mutations: the same random seed every run, so that a finding here reproduces.
  start=$SECONDS
  local mutated="$work/mutations-$target"
  "$build/tests/fuzz/fuzz_mutate" "tests/fuzz/corpus/$target" "$mutated" "$mutations" 1
  mapfile -t inputs < <(find "$mutated" -type f | sort)
  run_inputs "$target" "${inputs[@]}"
  report "$target" mutations "$runs" "$findings" "$((SECONDS - start))"
  echo $((total + findings))
}

# FUZZ_PARALLEL targets at a time (each fuzzer is one process), their reports in target order.
for target in "${targets[@]}"; do
  while [ "$(jobs -r -p | wc -l)" -ge "$parallel" ]; do wait -n || true; done
  fuzz_target "$target" >"$work/$target.report" &
done
wait
for target in "${targets[@]}"; do
  head -n -1 "$work/$target.report"
  findings_total=$((findings_total + $(tail -n 1 "$work/$target.report")))
done

if [ "$findings_total" -gt 0 ]; then
  echo "fuzz: $findings_total finding(s), saved under tests/fuzz/crashes/ (docs/fuzzing.md)" >&2
  exit 1
fi
echo "fuzz: no findings"
