"""Classifier architectures trained on 48x48 grayscale faces.

Every network takes ``(N, 1, 48, 48)`` float32 in [0, 1] and returns logits for the
seven FER2013 classes. Normalisation lives inside the network so the catalog's input
spec stays simple (scale 1/255, no mean or std) and exact for outside scripts.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn


def conv_bn(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class ResidualPair(nn.Module):
    """Two 3x3 convolutions with an identity shortcut (ResNet-9 style). ``inner``: the width between
    the two (narrower after channel pruning; the shortcut fixes only the outer width)."""

    def __init__(self, channels: int, inner: int | None = None):
        super().__init__()
        inner = inner or channels
        self.body = nn.Sequential(conv_bn(channels, inner), conv_bn(inner, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class FerNet(nn.Module):
    """A ResNet-9-like network: a stem at 48x48, then three stages at 24, 12 and 6.

    Pooling straight after the stem keeps the 48x48 work to one thin convolution,
    which is what makes CPU training affordable (measured: 3x the throughput of
    running two convolutions at full resolution for the same widths).
    """

    def __init__(self, widths=(24, 32, 64, 128), num_classes: int = 7, dropout: float = 0.3, inner=None,
                 crop: int | None = None):
        super().__init__()
        w1, w2, w3, w4 = widths
        # ``crop``: the network looks at the central crop x crop pixels of its 48x48 input (a slice inside
        # the graph, so the input spec stays 48x48); every layer then costs (crop / 48)^2 of its work
        if crop is not None and not (8 <= crop <= 48 and crop % 8 == 0):
            raise ValueError(f"crop {crop}: give a multiple of 8 from 8 to 48 (three poolings halve it)")
        self.crop = crop
        i2, i3, i4 = inner or (w2, w3, w4)
        self.register_buffer("mean", torch.tensor(0.5))
        self.register_buffer("std", torch.tensor(0.25))
        self.features = nn.Sequential(
            conv_bn(1, w1), nn.MaxPool2d(2),                          # 24
            conv_bn(w1, w2), ResidualPair(w2, i2), nn.MaxPool2d(2),   # 12
            conv_bn(w2, w3), ResidualPair(w3, i3), nn.MaxPool2d(2),   # 6
            conv_bn(w3, w4), ResidualPair(w4, i4),
        )
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(w4, num_classes)
        )

    def normalised(self, x: torch.Tensor) -> torch.Tensor:
        """The (N, 1, 48, 48) faces in [0, 1] as the first convolution reads them: cropped, then normalised."""
        if self.crop is not None:
            margin = (x.shape[-1] - self.crop) // 2
            x = x[..., margin:margin + self.crop, margin:margin + self.crop]
        return (x - self.mean) / self.std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(self.normalised(x)))

    def forward_with_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits, pooled features): the features are what a temporal head reads per frame."""
        pool, flatten, dropout, linear = self.head
        feats = flatten(pool(self.features(self.normalised(x))))
        return linear(dropout(feats)), feats

    @property
    def feature_size(self) -> int:
        return self.head[-1].in_features

    @property
    def map_shape(self) -> tuple[int, int, int]:
        """The last feature map's (C, side, side): side 6 for the full 48x48 face, 5 for a 40x40 crop."""
        side = (self.crop or 48) // 8
        return self.feature_size, side, side


ARCHITECTURES = {
    "fernet-s": dict(widths=(24, 32, 64, 128)),
    "fernet-m": dict(widths=(32, 48, 96, 192)),
    "fernet-l": dict(widths=(32, 64, 128, 256)),
    # between s and m: about 865k parameters, so its INT8 file stays under 1 MB (the balanced tier)
    "fernet-sm": dict(widths=(32, 48, 96, 160)),
    # the widest: about 4.4M parameters (a distillation teacher; about 3.8 ms per face in INT8)
    "fernet-xl": dict(widths=(64, 96, 192, 384)),
    # the tiny tier: about 81k parameters, an INT8 file near 100 KB
    "fernet-t": dict(widths=(16, 24, 32, 64), inner=(12, 16, 32)),
    # about 169k parameters: twice fernet-t, for the tiny tier with 4-bit weights (a file near 90 KB)
    "fernet-tw": dict(widths=(16, 32, 48, 88), inner=(24, 32, 44)),
    # fernet-s with half the channels inside each residual pair, pruned by ferdesk.training.prune
    "fernet-s-pruned": dict(widths=(24, 32, 64, 128), inner=(16, 32, 64)),
    # fernet-sm pruned the same way (half of each residual pair's inner channels)
    "fernet-sm-pruned": dict(widths=(32, 48, 96, 160), inner=(24, 48, 80)),
    # fernet-sm on the central 40x40 of the face: 0.69x its multiply-adds (58 million against 84), every
    # weight kept, so it starts from fernet-sm's trained weights; for the balanced tier's 1 ms
    "fernet-sm-c40": dict(widths=(32, 48, 96, 160), crop=40),
    # fernet-sm with a third of the inner channels gone at 24 and 12 pixels and a fifth at 6 (65 million
    # multiply-adds against 84): about 0.75x fernet-sm's INT8 time per face, for the balanced tier's 1 ms
    "fernet-sm-trim": dict(widths=(32, 48, 96, 160), inner=(32, 64, 128)),
    # a lighter cut for the same 1 ms: a sixth of the inner channels gone at 24 and 12 pixels, a fifth at 6
    # (74 million multiply-adds); widths chosen by INT8 time alone (0.97 ms against fernet-sm's 1.06)
    "fernet-sm-trim-light": dict(widths=(32, 48, 96, 160), inner=(40, 80, 128)),
    # the tiny tier's pruned variant: half of fernet-t's inner channels
    "fernet-t-pruned": dict(widths=(16, 24, 32, 64), inner=(6, 8, 16)),
    # the 4-bit tiny network (fernet-tw) pruned the same way
    "fernet-tw-pruned": dict(widths=(16, 32, 48, 88), inner=(12, 16, 22)),
    # the best tier's members pruned the same way
    "fernet-m-pruned": dict(widths=(32, 48, 96, 192), inner=(24, 48, 96)),
    "fernet-l-pruned": dict(widths=(32, 64, 128, 256), inner=(32, 64, 128)),
}


def build(name: str) -> FerNet:
    return FerNet(**ARCHITECTURES[name])


def member(text: str, default_arch: str | None = None) -> tuple[str, str]:
    """``'ARCH=WEIGHTS'`` -> (ARCH, WEIGHTS); a plain ``'WEIGHTS'`` takes ``default_arch``.

    How the command lines name one network of an ensemble or a teacher. Raises ValueError
    with a one-line reason for an unknown architecture or a missing architecture.
    """
    arch, sep, weights = text.partition("=")
    if not sep:
        arch, weights = default_arch, text
    if arch not in ARCHITECTURES:
        raise ValueError(f"{text!r}: give ARCH=WEIGHTS with ARCH one of {sorted(ARCHITECTURES)}"
                         + ("" if sep else " (or --arch)"))
    return arch, weights


def split_member(weights) -> tuple[Path, int]:
    """``'file.onnx#2'`` -> (Path('file.onnx'), 2); a plain path is member 0."""
    text = str(weights)
    path, sep, k = text.rpartition("#")
    if sep and k.isdigit():
        return Path(path), int(k)
    return Path(text), 0


def load(name: str, weights, calibration: torch.Tensor | None = None) -> FerNet:
    """The network ``name`` with the trained state dict at ``weights``, in eval mode; ``weights`` may also
    be a bundled FP32 ONNX file (``file.onnx``, or ``file.onnx#k`` for member k of an ensemble file), whose
    folded batch norms take the statistics of the ``calibration`` faces when given (needed before training
    mode; see ``from_onnx``). A state dict has its own statistics and ignores ``calibration``."""
    if split_member(weights)[0].suffix == ".onnx":
        from ferdesk.training.from_onnx import load_onnx

        return load_onnx(name, weights, calibration=calibration)
    net = build(name)
    net.load_state_dict(torch.load(weights, map_location="cpu"))
    return net.eval()
