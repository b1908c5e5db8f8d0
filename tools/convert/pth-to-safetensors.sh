#!/usr/bin/env bash
# Convert a PyTorch checkpoint (an official T-RevSNN, Spikformer or Spike-driven Transformer one)
# into safetensors for snnsim:
#   tools/convert/pth-to-safetensors.sh CHECKPOINT.pth OUT.safetensors [--key model|state_dict_ema|state_dict|auto]
# The first run creates tools/convert/.venv (python3 -m venv; pip install torch numpy
# safetensors yacs). pip honours PIP_INDEX_URL / PIP_EXTRA_INDEX_URL, e.g.
# PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu for the small CPU-only torch.
# See pth_to_safetensors.py for what is converted and how.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"

if [ "$#" -lt 2 ]; then
    echo "usage: $0 CHECKPOINT.pth OUT.safetensors [--key model|state_dict_ema|state_dict|auto]" >&2
    exit 2
fi

if [ ! -f "$venv/.installed" ]; then
    echo "creating $venv (torch, numpy, safetensors, yacs)..." >&2
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet torch numpy safetensors yacs
    touch "$venv/.installed"
fi

exec "$venv/bin/python" "$here/pth_to_safetensors.py" "$@"
