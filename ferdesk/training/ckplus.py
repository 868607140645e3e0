"""CK+ subject-independent 10-fold cross-validation: frame-only CNN head vs dense LSTM vs TT-LSTM.

usage: python -m ferdesk.training.ckplus [--weights build/train/fernet-s/model.pt] [--folds 10] [--seed 0]

Features come from a FER2013-trained fernet-s, frozen (no fine-tuning on CK+ yet): its pooled
128-d vector for the frame-only head, its last 128x6x6 feature maps (4,608 values per frame) for
the recurrent heads, which read the three onset-to-apex frames of each sequence. Folds split by
subject (no subject in both training and test). Prints one table: mean accuracy over folds,
parameters, and the TT-LSTM's compression against the dense LSTM of the same shape.
"""
from __future__ import annotations

import argparse
import math

import numpy as np
import torch
from torch import nn

from ferdesk.training.nets import build
from ferdesk.training.train_classifier import DEFAULT_DATA
from ferdesk.training.tt import TTLinear, TTLSTMCell


def sequences(data: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(S, 3, 48, 48) frames in onset-to-apex order, (S,) labels, (S,) subjects."""
    seqs = {}
    for i, name in enumerate(data["sequences"]):
        seqs.setdefault(str(name), []).append(i)
    order = [sorted(idx, key=lambda i: int(data["frames"][i])) for idx in seqs.values()]
    frames = np.stack([data["images"][idx] for idx in order])
    return frames, np.array([data["labels"][idx[0]] for idx in order]), np.array([str(data["subjects"][idx[0]]) for idx in order])


@torch.no_grad()
def features(weights, frames: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    net = build("fernet-s")
    net.load_state_dict(torch.load(weights, map_location="cpu"))
    net.eval()
    x = torch.from_numpy(frames.reshape(-1, 1, 48, 48)).float().div(255)
    maps = net.features((x - net.mean) / net.std)                    # (S*3, 128, 6, 6)
    pooled = maps.mean(dim=(2, 3))
    s = frames.shape[0]
    return pooled.reshape(s, 3, -1), maps.reshape(s, 3, -1)


class FrameHead(nn.Module):
    def __init__(self, n_in: int, n_classes: int):
        super().__init__()
        self.fc = nn.Sequential(nn.Dropout(0.3), nn.Linear(n_in, n_classes))

    def forward(self, seq):  # the apex (last) frame only
        return self.fc(seq[:, -1])


class LSTMHead(nn.Module):
    def __init__(self, cell: nn.Module, hidden: int, n_classes: int):
        super().__init__()
        self.cell, self.hidden = cell, hidden
        self.fc = nn.Sequential(nn.Dropout(0.3), nn.Linear(hidden, n_classes))

    def forward(self, seq):
        h = seq.new_zeros(seq.shape[0], self.hidden)
        c = torch.zeros_like(h)
        for t in range(seq.shape[1]):
            h, c = self.cell(seq[:, t], h, c)
        return self.fc(h)


class DenseLSTMCell(nn.Module):
    def __init__(self, n_in: int, hidden: int):
        super().__init__()
        self.cell = nn.LSTMCell(n_in, hidden)

    def forward(self, x, h, c):
        return self.cell(x, (h, c))


def fit(model: nn.Module, x, y, steps: int = 300, lr: float = 3e-3) -> nn.Module:
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-3)
    model.train()
    for _ in range(steps):
        loss = nn.functional.cross_entropy(model(x), y, label_smoothing=0.05)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def subject_folds(subjects: np.ndarray, k: int, seed: int) -> list[np.ndarray]:
    unique = np.array(sorted(set(subjects)))
    np.random.default_rng(seed).shuffle(unique)
    return [np.isin(subjects, part) for part in np.array_split(unique, k)]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", default="build/train/fernet-s/model.pt")
    ap.add_argument("--data", default=str(DEFAULT_DATA / "ckplus48.npz"))
    ap.add_argument("--folds", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hidden", type=int, default=128)
    a = ap.parse_args(argv)
    torch.manual_seed(a.seed)
    data = dict(np.load(a.data))
    frames, labels, subjects = sequences(data)
    pooled, maps = features(a.weights, frames)
    n_classes = len(data["classes"])
    y = torch.from_numpy(labels.astype(np.int64))
    n_in = maps.shape[-1]
    in_modes, hidden_modes = [8, 8, 8, 9], [4, 4, 4, 2]
    assert math.prod(in_modes) == n_in and math.prod(hidden_modes) == a.hidden
    makers = {
        "frame-only (pooled features, apex frame)": (lambda: FrameHead(pooled.shape[-1], n_classes), pooled),
        "dense LSTM (feature maps, 3 frames)": (lambda: LSTMHead(DenseLSTMCell(n_in, a.hidden), a.hidden, n_classes), maps),
        "TT-LSTM (feature maps, 3 frames)": (lambda: LSTMHead(TTLSTMCell(in_modes, hidden_modes, [4, 4, 4], hidden_ranks=[4, 4, 4]),
                                                              a.hidden, n_classes), maps),
    }
    print(f"CK+ {len(labels)} sequences, {len(set(subjects))} subjects, {a.folds} subject-independent folds (seed {a.seed})")
    print("| head | mean accuracy | std over folds | recurrent-cell params |")
    print("|---|---|---|---|")
    cells = {}
    for name, (make, x) in makers.items():
        accs = []
        for test in subject_folds(subjects, a.folds, a.seed):
            tr = torch.from_numpy(~test)
            te = torch.from_numpy(test)
            model = fit(make(), x[tr], y[tr])
            with torch.no_grad():
                accs.append((model(x[te]).argmax(1) == y[te]).float().mean().item())
        probe = make()
        cell_params = sum(p.numel() for p in probe.cell.parameters()) if hasattr(probe, "cell") else 0
        cells[name] = probe
        print(f"| {name} | {np.mean(accs):.2%} | {np.std(accs):.2%} | {cell_params:,} |", flush=True)
    tt = next(m for n, m in cells.items() if n.startswith("TT")).cell
    print(f"\nTT-LSTM cell: {tt.tt_params():,} parameters; a dense LSTM cell of the same shape has "
          f"{tt.dense_params():,}: {tt.dense_params() / tt.tt_params():.0f}x smaller.")


if __name__ == "__main__":
    main()
