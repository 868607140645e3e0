"""Tensor-train (TT) layers: a TT-linear layer and a TT-LSTM cell (the ttlstm papers' method).

A weight matrix W of shape (prod(in_modes), prod(out_modes)) is stored as d cores; core k has
shape (r_k, in_k, out_k, r_(k+1)) with r_0 = r_d = 1, and
    W[(i_1..i_d), (o_1..o_d)] = G_1[:, i_1, o_1, :] @ G_2[:, i_2, o_2, :] @ ... @ G_d[:, i_d, o_d, :].
The forward pass contracts the input with one core at a time and never builds W, so the
exported ONNX graph stores only the cores (its file size shows the compression).
"""
from __future__ import annotations

import math

import torch
from torch import nn


def even_modes(n: int, count: int) -> list[int]:
    """``count`` TT modes whose product is ``n``, as even as can be (the largest mode smallest, then
    the smallest largest), ascending: even_modes(128, 3) -> [4, 4, 8], even_modes(4608, 4) -> [8, 8, 8, 9]."""
    def factorisations(rest: int, k: int, low: int):
        if k == 1:
            if rest >= low:
                yield [rest]
            return
        for f in range(low, int(round(rest ** (1 / k))) + 1):
            if rest % f == 0:
                for tail in factorisations(rest // f, k - 1, f):
                    yield [f, *tail]

    best = min(factorisations(n, count, 1), key=lambda m: (m[-1], -m[0]), default=None)
    if best is None:
        raise ValueError(f"{n} has no factorisation into {count} modes")
    return best


class TTLinear(nn.Module):
    def __init__(self, in_modes: list[int], out_modes: list[int], ranks: list[int], bias: bool = True):
        super().__init__()
        if not (len(in_modes) == len(out_modes) == len(ranks) + 1):
            raise ValueError("need d input modes, d output modes and d-1 inner ranks")
        self.in_modes, self.out_modes = list(in_modes), list(out_modes)
        self.ranks = [1, *ranks, 1]
        self.in_features, self.out_features = math.prod(in_modes), math.prod(out_modes)
        self.cores = nn.ParameterList()
        # Initialise so that W has roughly the variance of a Glorot-initialised dense matrix.
        target_std = math.sqrt(2.0 / (self.in_features + self.out_features))
        per_core = (target_std / math.sqrt(math.prod(self.ranks[1:-1]) or 1)) ** (1 / len(in_modes))
        for k, (i, o) in enumerate(zip(in_modes, out_modes)):
            self.cores.append(nn.Parameter(torch.randn(self.ranks[k], i, o, self.ranks[k + 1]) * per_core))
        self.bias = nn.Parameter(torch.zeros(self.out_features)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch = x.shape[:-1]
        rest = self.in_features
        # t: (B * o_1..o_(k-1), r_k, i_k, rest of the inputs)
        t = x.reshape(-1, 1, self.in_modes[0], rest // self.in_modes[0])
        rest //= self.in_modes[0]
        for k, core in enumerate(self.cores):
            t = torch.einsum("brim,rios->bosm", t, core)           # (B', o_k, r_(k+1), rest)
            if k + 1 < len(self.cores):
                nxt = self.in_modes[k + 1]
                t = t.reshape(-1, self.ranks[k + 1], nxt, rest // nxt)
                rest //= nxt
        y = t.reshape(*batch, self.out_features)
        return y if self.bias is None else y + self.bias

    def to_dense(self) -> torch.Tensor:
        """W as a dense (in_features, out_features) matrix: for tests and for counting, never in forward."""
        w = self.cores[0]                                          # (1, i1, o1, r1)
        for core in self.cores[1:]:
            w = torch.einsum("aiob,bjpc->aijopc", w, core)
            a, i, j, o, p, c = w.shape
            w = w.reshape(a, i * j, o * p, c)
        # rows ordered (i1..id) and columns (o1..od), as in forward
        return w.reshape(self.in_features, self.out_features)

    def tt_params(self) -> int:
        return sum(c.numel() for c in self.cores) + (self.bias.numel() if self.bias is not None else 0)

    def dense_params(self) -> int:
        return self.in_features * self.out_features + (self.out_features if self.bias is not None else 0)


class TTLSTMCell(nn.Module):
    """An LSTM cell whose input-to-hidden map is a TT-linear layer (hidden-to-hidden TT too, if given).

    One call is one time step, (x_t, h, c) -> (h', c'), which is what a live per-track head runs
    each frame; ``sequence`` runs a whole clip.
    """

    def __init__(self, in_modes, hidden_modes, ranks, hidden_ranks=None):
        super().__init__()
        gate_modes = list(hidden_modes)
        gate_modes[0] *= 4  # the four gates side by side
        self.hidden = math.prod(hidden_modes)
        self.x2h = TTLinear(in_modes, gate_modes, ranks)
        self.h2h = (TTLinear(hidden_modes, gate_modes, hidden_ranks, bias=False) if hidden_ranks
                    else nn.Linear(self.hidden, 4 * self.hidden, bias=False))

    def forward(self, x, h, c):
        gates = self.x2h(x) + self.h2h(h)
        i, f, g, o = gates.chunk(4, dim=-1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c

    def sequence(self, xs: torch.Tensor) -> torch.Tensor:
        """(B, T, in_features) -> (B, T, hidden)."""
        h = xs.new_zeros(xs.shape[0], self.hidden)
        c = torch.zeros_like(h)
        out = []
        for t in range(xs.shape[1]):
            h, c = self(xs[:, t], h, c)
            out.append(h)
        return torch.stack(out, 1)

    def tt_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def dense_params(self) -> int:
        """Parameters of a dense LSTM cell of the same shape (same input, hidden and biases)."""
        n_in = self.x2h.in_features
        return n_in * 4 * self.hidden + self.hidden * 4 * self.hidden + 4 * self.hidden
