"""What test-time views buy one trained classifier on FER2013 PublicTest (PyTorch, FP32).

usage: python -m ferdesk.training.tta_views --arch fernet-t --weights build/train/fernet-t-ekd-s2/model.pt

Scores the mean softmax over sets of views of each face: the face alone, with its mirror, with
two-pixel shifts (left, right, up, down) and with a 6% zoom in and out, each also mirrored.
Weights are shared by every view, so a view costs latency, never file size: the question it answers
is whether more views than the mirror (what ``export --flip`` ships) are worth their time.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch
import torch.nn.functional as F

from ferdesk.training.nets import ARCHITECTURES, load
from ferdesk.training.train_classifier import DEFAULT_DATA, load_split

SHIFT = 2 / 48 * 2  # two pixels, in affine_grid's [-1, 1] coordinates
TRANSFORMS = {
    "face": {}, "right": dict(tx=SHIFT), "left": dict(tx=-SHIFT), "down": dict(ty=SHIFT), "up": dict(ty=-SHIFT),
    "zoom-in": dict(scale=1.06), "zoom-out": dict(scale=0.94),
}
VIEW_SETS = {
    "face": ["face"],
    "face + mirror": ["face"],
    "+ 2 px shifts left/right": ["face", "left", "right"],
    "+ 2 px shifts in 4 directions": ["face", "left", "right", "up", "down"],
    "+ 6% zoom in/out": ["face", "zoom-in", "zoom-out"],
    "all": list(TRANSFORMS),
}


def affine(x: torch.Tensor, scale: float = 1.0, tx: float = 0.0, ty: float = 0.0) -> torch.Tensor:
    theta = torch.tensor([[1 / scale, 0, tx], [0, 1 / scale, ty]], dtype=x.dtype).expand(x.shape[0], 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


@torch.no_grad()
def view_probabilities(net, x: torch.Tensor, batch: int = 512) -> dict[str, torch.Tensor]:
    """Softmax per view: ``name`` and ``name mirrored`` for every transform."""
    out = {}
    for name, kw in TRANSFORMS.items():
        v = affine(x, **kw) if kw else x
        for key, views in ((name, v), (f"{name} mirrored", torch.flip(v, dims=[3]))):
            out[key] = torch.cat([torch.softmax(net(views[i:i + batch]), 1) for i in range(0, len(views), batch)])
    return out


def view_set_accuracy(probs: dict[str, torch.Tensor], y: torch.Tensor) -> dict[str, tuple[int, float]]:
    """(number of views, accuracy) per view set; every set but the first also takes each view's mirror."""
    result = {}
    for label, names in VIEW_SETS.items():
        keys = names if label == "face" else names + [f"{n} mirrored" for n in names]
        mean = sum(probs[k] for k in keys) / len(keys)
        result[label] = (len(keys), float((mean.argmax(1) == y).float().mean()))
    return result


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", required=True, choices=sorted(ARCHITECTURES))
    ap.add_argument("--weights", type=Path, required=True)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    split = a.data / "fer2013_publictest.npz"
    for path in (a.weights, split):
        if not path.is_file():
            raise SystemExit(f"error: {path} not found")
    x, y = load_split(split)
    probs = view_probabilities(load(a.arch, a.weights), x)
    print(f"{a.arch} {a.weights}, FER2013 PublicTest n={len(y)}")
    print("| views | count | accuracy |\n|---|---|---|")
    for label, (count, acc) in view_set_accuracy(probs, torch.as_tensor(y)).items():
        print(f"| {label} | {count} | {acc:.2%} |")


if __name__ == "__main__":
    main()
