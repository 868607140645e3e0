"""A trainable PyTorch network rebuilt from a bundled FP32 ONNX classifier.

Training checkpoints are not committed (only the exported files are), so fine-tuning, pruning or
distilling from a shipped model would otherwise mean training it again. The FP32 ONNX file holds every
weight, with each batch norm folded into its convolution (``W' = W * g / s``, ``b' = beta - m * g / s``).
The fold cannot be undone exactly, but an equivalent network can be built: each convolution takes
``W'``, and its batch norm is set so that it adds ``b'`` in eval mode *and* leaves the convolution's
output where it was when it normalises with batch statistics in train mode: with ``m, v`` the
per-channel mean and variance of ``W' x`` over calibration faces, running stats ``m, v``, scale
``sqrt(v + eps)`` and shift ``b' + m``. Eval mode then gives the file's outputs (to float rounding);
train mode starts from nearly the same function instead of a renormalised one.

Ensemble files hold several members: ``PATH#k`` names member k (0-based, in export order).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

from ferdesk.training.nets import FerNet, build, split_member


def _layers(net: FerNet) -> tuple[list[nn.Conv2d], list[nn.BatchNorm2d]]:
    convs = [m for m in net.features.modules() if isinstance(m, nn.Conv2d)]
    norms = [m for m in net.features.modules() if isinstance(m, nn.BatchNorm2d)]
    return convs, norms


def load_onnx(arch: str, weights: str | Path, calibration: torch.Tensor | None = None) -> FerNet:
    """Network ``arch`` with the weights of ``weights`` (``file.onnx`` or ``file.onnx#k``), in eval mode.
    ``calibration`` ((N, 1, 48, 48) faces in [0, 1]): sets each batch norm's statistics as described above;
    without it the batch norms are exact in eval mode only. Raises ValueError naming the mismatch when the
    file does not hold such a network."""
    path, k = split_member(weights)
    model = onnx.load(str(path))
    init = {t.name: t for t in model.graph.initializer}
    nodes = [n for n in model.graph.node if n.op_type in ("Conv", "Gemm")]
    net = build(arch)
    convs, norms = _layers(net)
    per = len(convs) + 1
    if len(nodes) % per or k >= len(nodes) // per:
        raise ValueError(f"{path}: {len(nodes)} Conv/Gemm nodes do not hold member {k} of {arch} ({per} each)")
    mine = nodes[k * per:(k + 1) * per]
    if [n.op_type for n in mine] != ["Conv"] * (per - 1) + ["Gemm"]:
        raise ValueError(f"{path}: member {k} is not laid out as {arch}")

    def array(name: str) -> torch.Tensor:
        if name not in init:
            raise ValueError(f"{path}: {name} is not stored in the file")
        return torch.from_numpy(np.array(numpy_helper.to_array(init[name]), dtype=np.float32))

    with torch.no_grad():
        for node, conv, bn in zip(mine[:-1], convs, norms):
            w = array(node.input[1])
            if w.shape != conv.weight.shape:
                raise ValueError(f"{path}: member {k} has a {tuple(w.shape)} convolution where {arch} has "
                                 f"{tuple(conv.weight.shape)}")
            b = array(node.input[2]) if len(node.input) > 2 else torch.zeros(w.shape[0])
            conv.weight.copy_(w)
            bn.weight.fill_(1.0)
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)
            bn.bias.copy_(b)
        gemm, linear = mine[-1], net.head[-1]
        transposed = any(a.name == "transB" and a.i == 1 for a in gemm.attribute)
        w = array(gemm.input[1])
        linear.weight.copy_(w if transposed else w.T)
        linear.bias.copy_(array(gemm.input[2]))
    net.eval()
    if calibration is not None:
        calibrate_norms(net, calibration)
    return net


@torch.no_grad()
def calibrate_norms(net: FerNet, faces: torch.Tensor) -> None:
    """Gives every batch norm the statistics of its input over ``faces`` without changing the eval-mode
    function (see the module's docstring). Expects the batch norms as ``load_onnx`` leaves them."""
    _, norms = _layers(net)
    seen: dict[nn.BatchNorm2d, torch.Tensor] = {}
    hooks = [bn.register_forward_pre_hook(lambda mod, inp: seen.__setitem__(mod, inp[0])) for bn in norms]
    try:
        net.eval()(faces)
    finally:
        for h in hooks:
            h.remove()
    for bn in norms:
        y = seen[bn]
        mean, var = y.mean((0, 2, 3)), y.var((0, 2, 3), unbiased=False)
        shift = bn.bias - bn.running_mean  # b'
        bn.running_mean.copy_(mean)
        bn.running_var.copy_(var)
        bn.weight.copy_((var + bn.eps).sqrt())
        bn.bias.copy_(shift + mean)
