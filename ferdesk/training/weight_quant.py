"""4-bit weights: the rule that picks each output channel's scale, and training against it.

Weight-only quantisation: every convolution's and the output layer's weights are stored as signed
integers in [-7, 7] with one float32 scale per output channel (ONNX ``DequantizeLinear`` on INT4,
opset 21); activations stay float. Half the bytes of INT8 per weight, so a file under 100 KB holds
about twice the parameters (the tiny tier's limit is the file, not the time).

The scale of a channel is ``clip * max|w| / 7``, ``clip`` chosen among 26 fractions in [0.5, 1] to
minimise the channel's squared rounding error. Scaling a channel by any positive factor (a batch norm
folded into it) scales its best scale by the same factor, so the rule picks the same integers before
and after folding: a network trained against it (``attach``, then ``bake``) keeps its accuracy
exactly when ``ferdesk.training.compress --variants int4`` stores its folded ONNX weights in 4 bits.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize

LEVELS = 7
CLIP_FRACTIONS = torch.linspace(1.0, 0.5, 26)  # from 1 down: on a tie the widest clip wins


@torch.no_grad()
def channel_scales(w: torch.Tensor, axis: int = 0) -> torch.Tensor:
    """One scale per slice of ``w`` along ``axis`` (the output channels), float32."""
    flat = w.detach().float().movedim(axis, 0).reshape(w.shape[axis], -1)
    amax = flat.abs().amax(1).clamp_min(1e-12)
    best_err = best = None
    for clip in CLIP_FRACTIONS:
        scale = amax * clip / LEVELS
        err = ((integers(flat, scale) * scale[:, None] - flat) ** 2).sum(1)
        if best is None:
            best_err, best = err, scale
        else:
            better = err < best_err
            best_err, best = torch.where(better, err, best_err), torch.where(better, scale, best)
    return best


def integers(flat: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """``flat`` (channels, k) on the grid of ``scale`` (channels,): rounded and clipped, still float."""
    return torch.clamp(torch.round(flat / scale[:, None]), -LEVELS, LEVELS)


def quantize(w: torch.Tensor, axis: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(int8 tensor of values in [-7, 7], shaped like ``w``; float32 scales along ``axis``)."""
    scale = channel_scales(w, axis)
    flat = w.detach().float().movedim(axis, 0).reshape(w.shape[axis], -1)
    q = integers(flat, scale).reshape(w.movedim(axis, 0).shape).movedim(0, axis)
    return q.to(torch.int8), scale


class FourBitWeights(nn.Module):
    """Parametrisation: the forward pass sees the 4-bit weights, the gradient reaches the float ones
    unchanged (straight-through estimator)."""

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        q, scale = quantize(w)
        wq = q.to(w.dtype) * scale.to(w.dtype).reshape(-1, *([1] * (w.dim() - 1)))
        return w + (wq - w).detach()


def _weighted(net: nn.Module):
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def attach(net: nn.Module) -> nn.Module:
    """Trains ``net`` against 4-bit weights from now on (in place)."""
    for m in _weighted(net):
        parametrize.register_parametrization(m, "weight", FourBitWeights())
    return net


def bake(net: nn.Module) -> nn.Module:
    """Replaces each float weight by its 4-bit value (in place): a plain network again, whose state
    dict loads anywhere and whose FP32 export already holds the integers of the INT4 file."""
    for m in _weighted(net):
        if parametrize.is_parametrized(m, "weight"):
            parametrize.remove_parametrizations(m, "weight", leave_parametrized=True)
    return net


def plain_state_dict(net: nn.Module) -> dict[str, torch.Tensor]:
    """The state dict ``bake`` would leave, without changing ``net`` (which goes on training): each
    parametrised weight under its plain name with its 4-bit value, on the CPU. A network without 4-bit
    weights gives its own state dict. What a checkpoint saved mid-run holds, so it loads like ``model.pt``."""
    state = {name: value for name, value in net.state_dict().items() if ".parametrizations." not in name}
    for name, m in net.named_modules():
        if parametrize.is_parametrized(m, "weight"):
            state[f"{name}.weight"] = m.weight.detach()
    return {name: value.cpu() for name, value in state.items()}
