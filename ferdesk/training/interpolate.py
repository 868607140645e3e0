"""A network on the straight line between two trained networks of one architecture (weight interpolation).

usage: python -m ferdesk.training.interpolate --arch fernet-sm-trim \\
           --start models/fernet-sm-kd2-pruned/fernet-sm-kd2-pruned.onnx \\
           --end build/train/sm-trim-rf-e/model.pt --alpha 0.5 --out build/train/sm-trim-rf-e-a50

Fine-tuning on a new domain (here real photographs) moves a network away from what it did on the old one.
When the fine-tune started from the other network, the networks in between, ``(1 - alpha) * start +
alpha * end`` weight by weight, often keep most of the new domain's gain and most of the old domain's
accuracy (Wortsman et al., "Robust fine-tuning of zero-shot models", CVPR 2022: WiSE-FT). Both networks are
taken with their batch norms folded into the convolutions (``from_onnx`` explains the fold), so the line
runs through the functions the exported files compute, whatever statistics the training kept.

Writes ``OUT/model.pt`` (a state dict that ``ferdesk.training.export`` takes) and ``OUT/summary.txt``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from ferdesk.training.from_onnx import _layers
from ferdesk.training.nets import ARCHITECTURES, load, split_member


def fold_batch_norms(net) -> None:
    """Fold each batch norm of ``net`` (in place) into the convolution before it, leaving the norm an
    identity in eval mode: the network computes the same function and its weights are those an exported
    file holds."""
    convs, norms = _layers(net)
    with torch.no_grad():
        for conv, bn in zip(convs, norms):
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.bias)
            conv.weight.mul_(scale.view(-1, 1, 1, 1))
            bn.bias.copy_(bn.bias + (bias - bn.running_mean) * scale)
            if conv.bias is not None:
                conv.bias.zero_()
            bn.weight.fill_(1.0)
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)


def interpolate(arch: str, start, end, alpha: float):
    """The network ``(1 - alpha) * start + alpha * end`` (both folded), in eval mode."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha {alpha}: give a number from 0 (the start network) to 1 (the end network)")
    a, b = load(arch, start), load(arch, end)
    fold_batch_norms(a)
    fold_batch_norms(b)
    sb = b.state_dict()
    mixed = {}
    for key, va in a.state_dict().items():
        vb = sb[key]
        mixed[key] = torch.lerp(va, vb, alpha) if va.is_floating_point() else vb
    a.load_state_dict(mixed)
    return a.eval()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", required=True, choices=sorted(ARCHITECTURES))
    ap.add_argument("--start", required=True, help="the network the fine-tune began from (state dict or FP32 ONNX)")
    ap.add_argument("--end", required=True, help="the fine-tuned network (state dict or FP32 ONNX)")
    ap.add_argument("--alpha", type=float, required=True, help="0: the start network, 1: the end network")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    for p in (a.start, a.end):
        if not split_member(p)[0].is_file():
            raise SystemExit(f"interpolate: no weights file at {p}")
    try:
        net = interpolate(a.arch, a.start, a.end, a.alpha)
    except (ValueError, RuntimeError) as e:
        raise SystemExit(f"interpolate: {(str(e).strip().splitlines() or [type(e).__name__])[0]}") from None
    a.out.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), a.out / "model.pt")
    line = (f"python -m ferdesk.training.interpolate --arch {a.arch} --start {a.start} --end {a.end} "
            f"--alpha {a.alpha:g} --out {a.out}")
    (a.out / "summary.txt").write_text(line + "\n")
    print(f"wrote {a.out / 'model.pt'}: {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
