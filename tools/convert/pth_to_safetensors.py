"""Convert a PyTorch checkpoint (.pth) into a safetensors file that snnsim can read.

Usage (or through pth-to-safetensors.sh, which brings its own venv):
  python tools/convert/pth_to_safetensors.py CHECKPOINT.pth OUT.safetensors
      [--key auto|model|state_dict_ema|state_dict]

CHECKPOINT.pth is either a training checkpoint, a torch.save dict such as the official T-RevSNN
one ({'model', 'optimizer', 'max_accuracy', 'epoch', 'state_dict_ema', 'input', 'config'}, the
config being a pickled yacs CfgNode) or the one timm's CheckpointSaver writes for the official
Spikformer and Spike-driven Transformer ({'epoch', 'arch', 'state_dict', 'optimizer', 'version',
'args', 'metric'}, 'state_dict_ema' with EMA), or a plain state_dict. It is read with
torch.load(weights_only=False), which runs the pickle's code: convert only files you trust.

The tensor dict is picked with --key: 'auto' (the default) takes 'model' if the checkpoint has it,
else 'state_dict', else the checkpoint itself if all its values are tensors. A leading 'module.'
(DistributedDataParallel) is stripped when every key has it. Every tensor is written as a
contiguous CPU tensor of its own (tensors that share storage, like T-RevSNN's repeated shared
modules, are copied apart), floating-point tensors as float32, integer and bool tensors (e.g.
BatchNorm num_batches_tracked) unchanged. The output is written to OUT.tmp and renamed to OUT.
Exit status 1, with one line on stderr, for a file that is not such a checkpoint.
"""

import argparse
import os
import pathlib
import sys

import torch
from safetensors.torch import save_file

KEYS = ("model", "state_dict_ema", "state_dict")


class ConversionError(Exception):
    """A checkpoint that cannot be converted; its message is the one line printed."""


def load_checkpoint(path):
    """The unpickled checkpoint; ConversionError if the file is not a torch.save file."""
    if not path.is_file():
        raise ConversionError(f"{path}: no such file (or not a regular file)")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except ModuleNotFoundError as error:
        raise ConversionError(
            f"{path}: the checkpoint pickles an object of a module that is not installed "
            f"({error.name}; official T-RevSNN checkpoints need yacs)"
        ) from error
    except Exception as error:  # torch.load raises many kinds for a file that is not its own
        raise ConversionError(f"{path}: not a PyTorch checkpoint ({error})") from error


def is_tensor_dict(value):
    """True for a non-empty dict whose keys are strings and values tensors."""
    return (
        isinstance(value, dict)
        and len(value) > 0
        and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in value.items())
    )


def pick_tensors(checkpoint, key):
    """(tensor dict, description of where it came from) for --key."""
    if not isinstance(checkpoint, dict):
        raise ConversionError(f"the file holds a {type(checkpoint).__name__}, not a dict")
    if key == "auto":
        for candidate in ("model", "state_dict"):
            if candidate in checkpoint:
                key = candidate
                break
        else:
            if is_tensor_dict(checkpoint):
                return checkpoint, "the checkpoint itself (a plain state_dict), picked by auto"
            found = ", ".join(map(str, list(checkpoint)[:8]))
            raise ConversionError(
                f"no 'model' or 'state_dict' entry and not a plain state_dict (keys: {found})"
            )
        how = f"'{key}', picked by auto"
    else:
        if key not in checkpoint:
            raise ConversionError(f"the checkpoint has no '{key}' entry")
        how = f"'{key}'"
    tensors = checkpoint[key]
    if tensors is None:
        raise ConversionError(f"the checkpoint's '{key}' is None (e.g. trained without EMA)")
    if not is_tensor_dict(tensors):
        raise ConversionError(f"the checkpoint's '{key}' is not a dict of tensors")
    return tensors, how


def strip_module_prefix(tensors):
    """Drop a leading 'module.' when every key has it; returns (dict, whether it did)."""
    prefix = "module."
    if all(k.startswith(prefix) for k in tensors):
        return {k[len(prefix) :]: v for k, v in tensors.items()}, True
    return tensors, False


def to_plain_tensor(tensor):
    """A contiguous CPU copy with storage of its own; floating point as float32."""
    if tensor.is_complex():
        raise ConversionError("complex tensors are not supported")
    dtype = torch.float32 if tensor.is_floating_point() else tensor.dtype
    return (
        tensor.detach().to(device="cpu", dtype=dtype).clone(memory_format=torch.contiguous_format)
    )


def convert(checkpoint_path, out_path, key):
    """Convert one checkpoint and print what was done."""
    checkpoint = load_checkpoint(checkpoint_path)
    try:
        tensors, how = pick_tensors(checkpoint, key)
        tensors, stripped = strip_module_prefix(tensors)
        tensors = {k: to_plain_tensor(v) for k, v in tensors.items()}
    except ConversionError as error:
        raise ConversionError(f"{checkpoint_path}: {error}") from error
    tmp = out_path.with_name(out_path.name + ".tmp")
    try:
        save_file(tensors, str(tmp), metadata={"format": "pt"})
        os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)
    nbytes = sum(t.numel() * t.element_size() for t in tensors.values())
    print(f"tensors from {how}" + ("; stripped the 'module.' prefix" if stripped else ""))
    print(
        f"wrote {len(tensors)} tensors, {nbytes} bytes of tensor data "
        f"({out_path.stat().st_size} bytes in all) to {out_path}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=pathlib.Path)
    parser.add_argument("out", type=pathlib.Path)
    parser.add_argument("--key", choices=("auto",) + KEYS, default="auto")
    args = parser.parse_args()
    try:
        convert(args.checkpoint, args.out, args.key)
    except ConversionError as error:
        print(f"pth_to_safetensors: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
