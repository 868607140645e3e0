"""Temporal heads: per tracked face, turn the per-frame probabilities into steadier ones.

A head keeps state per face id and forgets faces that are gone. ``off`` passes probabilities
through; ``ema`` is an exponential moving average (the cheap baseline the temporal model has
to beat). A learned head (the TT-LSTM) registers here under its own name.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from ferdesk.registry import Registry


class TemporalHead(ABC):
    name: str = ""

    @abstractmethod
    def update(self, face_ids: tuple[int, ...], probs: np.ndarray) -> np.ndarray:
        """(N, C) per-frame probabilities of the faces ``face_ids`` -> (N, C) smoothed ones."""

    def reset(self) -> None:
        pass


temporal_heads: Registry[TemporalHead] = Registry("temporal mode")


@temporal_heads.register("off")
class NoTemporal(TemporalHead):
    def update(self, face_ids, probs):
        return probs


@temporal_heads.register("ema")
class EmaTemporal(TemporalHead):
    """p_t = alpha * frame_t + (1 - alpha) * p_(t-1), per face id; a new id starts from its frame."""

    def __init__(self, alpha: float = 0.4):
        self.alpha = alpha
        self._state: dict[int, np.ndarray] = {}

    def update(self, face_ids, probs):
        out = np.empty_like(probs)
        for i, fid in enumerate(face_ids):
            prev = self._state.get(fid)
            out[i] = probs[i] if prev is None else self.alpha * probs[i] + (1 - self.alpha) * prev
        self._state = {fid: out[i] for i, fid in enumerate(face_ids)}
        return out

    def reset(self) -> None:
        self._state = {}


def make_temporal(name: str | None) -> TemporalHead:
    return temporal_heads.get(name or "off")()
