#!/usr/bin/env bash
# Damages a file one byte at a time and runs a command on each damaged copy, counting how the
# command ends: cleanly (exit status 0, 1 or 2), by a signal (a crash), or by the time limit.
# Not part of the test suite: it is how the crash counts in docs/trace-format.md were measured.
#
#   tools/reliability/flip_bytes.sh [-n COUNT] [-b BYTES] [-s SEED] [-t SECONDS] [-o CRASHES]
#                                   [-r OFFSETS] FILE -- CMD ARGS...
#
# Every byte is damaged in turn (XOR 0xff), or with -n COUNT that many bytes chosen at random
# (seed -s) among the first BYTES (default: all; HDF5 keeps most of its metadata at the start). In CMD, {} stands for the damaged copy. The offsets whose run crashed are written
# to CRASHES (default: FILE.crashes), one a line, to be replayed with -r CRASHES; those that
# ran past the time limit (-t, default 10 s) to CRASHES.timeouts.
#
#   tools/reliability/flip_bytes.sh -n 300 t.h5 -- build/snnsim trace summary {}
#   tools/reliability/flip_bytes.sh -n 300 b.nir -- build/snnsim validate {}
set -u

count=0 bytes=0 seed=1 limit=10 crashes="" replay=""
while getopts "n:b:s:t:o:r:" option; do
  case $option in
    n) count=$OPTARG ;;
    b) bytes=$OPTARG ;;
    s) seed=$OPTARG ;;
    t) limit=$OPTARG ;;
    o) crashes=$OPTARG ;;
    r) replay=$OPTARG ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [[ $# -lt 3 || $2 != "--" ]]; then
  echo "usage: $0 [-n COUNT] [-b BYTES] [-s SEED] [-t SECONDS] [-o CRASHES] [-r OFFSETS]" \
    "FILE -- CMD ARGS..." >&2
  exit 2
fi
file=$1
shift 2
[[ -n $crashes ]] || crashes=$file.crashes
size=$(stat -c %s "$file") || exit 2
[[ $bytes -gt 0 && $bytes -lt $size ]] || bytes=$size
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
damaged=$work/$(basename "$file")

if [[ -n $replay ]]; then
  mapfile -t offsets <"$replay"
elif [[ $count -gt 0 ]]; then
  mapfile -t offsets < <(awk -v n="$count" -v bytes="$bytes" -v seed="$seed" \
    'BEGIN { srand(seed); for (k = 0; k < n; ++k) print int(rand() * bytes) }')
else
  mapfile -t offsets < <(seq 0 $((size - 1)))
fi

clean=0 crashed=0 timed_out=0 succeeded=0
: >"$crashes"
: >"$crashes.timeouts"
for offset in "${offsets[@]}"; do
  cp "$file" "$damaged"
  byte=$(od -An -tu1 -j "$offset" -N1 "$file" | tr -d ' ')
  printf "\\x$(printf %02x $((byte ^ 255)))" |
    dd of="$damaged" bs=1 seek="$offset" conv=notrunc status=none
  command=()
  for word in "$@"; do command+=("${word//\{\}/$damaged}"); done
  # In a subshell whose stderr is discarded, so that bash's "Segmentation fault" is not shown.
  (
    timeout "$limit" "${command[@]}" >/dev/null 2>&1
    exit $?
  ) 2>/dev/null
  status=$?
  if [[ $status -eq 124 ]]; then
    timed_out=$((timed_out + 1))
    echo "$offset" >>"$crashes.timeouts"
  elif [[ $status -gt 128 ]]; then
    crashed=$((crashed + 1))
    echo "$offset" >>"$crashes"
  elif [[ $status -eq 0 ]]; then
    succeeded=$((succeeded + 1))
  else
    clean=$((clean + 1))
  fi
done
echo "$file ($size bytes): ${#offsets[@]} damaged copies: $crashed crashed (signal)," \
  "$timed_out timed out, $clean refused (non-zero exit), $succeeded accepted (exit 0);" \
  "crashing offsets in $crashes"
