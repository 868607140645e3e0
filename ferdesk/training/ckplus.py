"""CK+ subject-independent 10-fold cross-validation: frame-only CNN head vs dense LSTM vs TT-LSTM.

usage: python -m ferdesk.training.ckplus [--weights [ARCH=]build/train/fernet-s/model.pt ...] [--folds 10] [--seed 0]
           [--finetune-epochs 30] [--amp bf16] [--views 4] [--flip-test] [--init-head fer] [--rehearse-fer]
           [--balance] [--joint] [--save-probs FILE.npz] [--write-catalog NAME] [--log FILE]

Features come from a FER2013-trained fernet-s. With ``--finetune-epochs N`` (N > 0) the CNN is
first fine-tuned, per fold, on that fold's training frames only (all three frames of each
training sequence, with the augmentation used for FER2013); with 0 it stays frozen. The
frame-only result is the (fine-tuned) CNN's own classifier on the apex frame (frozen: a linear
head on its pooled 128-d vector); the recurrent heads read its last 128x6x6 feature maps (4,608
values per frame) over the three onset-to-apex frames. Folds split by subject (no subject in
both training and test). Prints one table: mean accuracy over folds, parameters, and the
TT-LSTM's compression against the dense LSTM of the same shape.

``--views N`` trains the heads on the feature maps of N augmented copies of every training
sequence (each frame moved, mirrored and relit on its own, as a detector's crops of a moving
face are) besides the plain one, instead of the plain frames only: a CNN fine-tuned on those
very frames gives them near-perfect features, so the heads otherwise never see a hard example.
``--flip-test`` scores every row (frame-only CNN included) on the mean logits of each test
sequence and its mirror image.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ferdesk.training.nets import build, load, member, split_member
from ferdesk.training.train_classifier import DEFAULT_DATA, load_split, usable_amp
from ferdesk.training.tt import TTLSTMCell, even_modes


def sequences(data: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(S, 3, 48, 48) frames in onset-to-apex order, (S,) labels, (S,) subjects, (S,) sequence names."""
    seqs = {}
    for i, name in enumerate(data["sequences"]):
        seqs.setdefault(str(name), []).append(i)
    order = [sorted(idx, key=lambda i: int(data["frames"][i])) for idx in seqs.values()]
    frames = np.stack([data["images"][idx] for idx in order])
    return (frames, np.array([data["labels"][idx[0]] for idx in order]),
            np.array([str(data["subjects"][idx[0]]) for idx in order]), np.array(list(seqs)))


DEFAULT_WEIGHTS = "build/train/fernet-s/model.pt"


FER_CLASSES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
# CK+ class -> the FER2013 class whose output row starts its CK+ row (``--init-head fer``);
# contempt has no FER2013 class and starts from neutral, the nearest low-arousal face.
CK_TO_FER = {"anger": "angry", "contempt": "neutral", "disgust": "disgust", "fear": "fear", "happy": "happy",
             "sadness": "sad", "surprise": "surprise"}


def load_fer_net(weights, calibration: torch.Tensor | None = None) -> nn.Module:
    """``weights`` is a path (a fernet-s) or ``ARCH=PATH`` for another FerNet architecture; ``calibration``:
    faces for a bundled ONNX file's folded batch norms (see ``nets.load``)."""
    return load(*member(weights, "fernet-s"), calibration=calibration)


def ck_output_layer(fer_layer: nn.Linear, ck_classes: list[str], init: str) -> nn.Linear:
    """A new output layer for the CK+ classes: random (``init='random'``), or (``'fer'``) each CK+ row
    copied from the FER2013 row of the same expression (CK_TO_FER), random where none matches."""
    layer = nn.Linear(fer_layer.in_features, len(ck_classes))
    if init == "fer":
        with torch.no_grad():
            for row, name in enumerate(ck_classes):
                fer = CK_TO_FER.get(name)
                if fer is not None:
                    layer.weight[row] = fer_layer.weight[FER_CLASSES.index(fer)]
                    layer.bias[row] = fer_layer.bias[FER_CLASSES.index(fer)]
    return layer


@torch.no_grad()
def features(net: nn.Module, frames: np.ndarray, batch: int = 1024) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(S, 3, C) pooled features, (S, 3, C*6*6) feature maps and (S, 3, classes) logits of ``net``
    (C = 128 for fernet-s)."""
    net.eval()
    x = torch.from_numpy(frames.reshape(-1, 1, 48, 48)).float().div(255)
    maps = torch.cat([net.features(net.normalised(x[i:i + batch])) for i in range(0, len(x), batch)])  # (S*3, 128, 6, 6)
    pooled = maps.mean(dim=(2, 3))
    logits = net.head[-1](pooled)
    s = frames.shape[0]
    return pooled.reshape(s, 3, -1), maps.reshape(s, 3, -1), logits.reshape(s, 3, -1)


def augmented_views(frames: np.ndarray, views: int, seed: int) -> np.ndarray:
    """(S, 3, 48, 48) uint8 frames -> (views * S, 3, 48, 48): each frame augmented independently."""
    from ferdesk.training.augment import augment

    gen = torch.Generator().manual_seed(seed)
    x = torch.from_numpy(frames.reshape(-1, 1, 48, 48)).float().div(255)
    out = [augment(x, gen).mul(255).round().byte().numpy().reshape(frames.shape) for _ in range(views)]
    return np.concatenate(out) if out else frames[:0]


def finetune(weights, frames: np.ndarray, labels: np.ndarray, ck_classes: list[str], epochs: int, seed: int,
             batch: int = 64, lr: float = 0.01, amp: str = "off", init_head: str = "random",
             rehearse: tuple[torch.Tensor, torch.Tensor] | None = None,
             class_weight: torch.Tensor | None = None, sequence_head: nn.Module | None = None) -> nn.Module:
    """The FER2013 network with a new CK+ output layer, trained end to end on ``frames`` (S, 3, 48, 48).

    ``rehearse`` (FER2013 images (N, 1, 48, 48) in [0, 1], labels (N,)): every step also trains the
    network's FER2013 output layer on ``batch`` random FER2013 faces, so the features keep what
    28k faces taught them instead of fitting the fold's few hundred sequences alone.

    ``sequence_head`` (a recurrent head over (B, frames, C*6*6) feature maps): trained together with
    the network (end to end) on whole sequences, ``batch // frames`` of them a step so a step sees as
    many frames as without it; the loss adds the head's sequence loss to every frame's loss."""
    from ferdesk.training.augment import augment

    n_frames = frames.shape[1]
    # the unit a batch draws: single frames, or whole sequences when a sequence head trains alongside
    unit = n_frames if sequence_head is not None else 1
    x = torch.from_numpy(frames.reshape(-1, unit, 48, 48)).float().div(255)
    y = torch.from_numpy(np.repeat(labels, n_frames // unit).astype(np.int64))
    # a bundled ONNX file's folded batch norms take this fold's statistics before training mode uses them
    net = load_fer_net(weights, calibration=x.reshape(-1, 1, 48, 48)[:1024])
    fer_layer = net.head[-1]
    net.head[-1] = ck_output_layer(fer_layer, ck_classes, init_head)
    batch = max(1, batch // unit)
    gen = torch.Generator().manual_seed(seed)
    params = list(net.parameters()) + (list(fer_layer.parameters()) if rehearse is not None else [])
    opt = torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=5e-4, nesterov=True)
    head_opt = torch.optim.AdamW(sequence_head.parameters(), lr=3e-3, weight_decay=1e-3) if sequence_head is not None else None
    steps = epochs * math.ceil(len(x) / batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.2)
    pool = net.head[:-1]  # average pool, flatten, dropout
    net.train()
    if sequence_head is not None:
        sequence_head.train()
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), batch):
            idx = perm[i:i + batch]
            inputs = x[idx].reshape(-1, 1, 48, 48)  # every frame augmented on its own
            n = len(inputs)
            if rehearse is not None:
                fer_idx = torch.randint(len(rehearse[0]), (batch * unit,), generator=gen)
                inputs = torch.cat([inputs, rehearse[0][fer_idx]])
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp == "bf16"):
                maps = net.features((augment(inputs, gen) - net.mean) / net.std)
                feats = pool(maps)
                logits = net.head[-1](feats[:n])
                fer_logits = fer_layer(feats[n:]) if rehearse is not None else None
                seq_logits = sequence_head(maps[:n].reshape(len(idx), unit, -1)) if sequence_head is not None else None
            loss = nn.functional.cross_entropy(logits.float(), y[idx].repeat_interleave(unit), weight=class_weight,
                                               label_smoothing=0.1)
            if fer_logits is not None:
                loss = loss + nn.functional.cross_entropy(fer_logits.float(), rehearse[1][fer_idx], label_smoothing=0.1)
            if seq_logits is not None:
                loss = loss + nn.functional.cross_entropy(seq_logits.float(), y[idx], weight=class_weight, label_smoothing=0.05)
            optimisers = [opt] + ([head_opt] if head_opt is not None else [])
            for o in optimisers:
                o.zero_grad(set_to_none=True)
            loss.backward()
            for o in optimisers:
                o.step()
            sched.step()
    if sequence_head is not None:
        sequence_head.eval()
    return net.eval()


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


def fit(model: nn.Module, x, y, steps: int = 300, lr: float = 3e-3, batch: int = 384, seed: int = 0,
        amp: str = "off", class_weight: torch.Tensor | None = None) -> nn.Module:
    """AdamW on random batches of ``batch`` sequences (the whole set when it is smaller)."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-3)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(steps):
        idx = torch.randperm(len(x), generator=gen)[:batch] if len(x) > batch else slice(None)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp == "bf16"):
            logits = model(x[idx])
        loss = nn.functional.cross_entropy(logits.float(), y[idx], weight=class_weight, label_smoothing=0.05)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def member_probabilities(net: nn.Module, train_frames: np.ndarray, train_labels: np.ndarray, test_frames: np.ndarray,
                         n_classes: int, makers: dict, frame_name: str, finetune: bool, views: int, flip_test: bool,
                         head_steps: int, seed: int, amp: str, class_weight: torch.Tensor | None = None,
                         trained: dict[str, nn.Module] | None = None) -> dict[str, torch.Tensor]:
    """One CNN's heads trained on one fold: {row name: (test sequences, classes) probabilities}, the
    mirror image's averaged in with ``flip_test``. ``finetune``: the CNN's own classifier is the
    frame-only row; otherwise a linear head on its pooled features is trained. ``trained``: heads
    already trained (end to end with the CNN) for some rows; those rows use them as they are."""
    train = np.concatenate([train_frames, augmented_views(train_frames, views, seed)])
    y_train = torch.from_numpy(np.tile(train_labels, views + 1).astype(np.int64))
    pooled, maps, _ = features(net, train)
    test_views = [test_frames, test_frames[..., ::-1]] if flip_test else [test_frames]
    test_feats = [features(net, np.ascontiguousarray(v)) for v in test_views]

    def probabilities(score) -> torch.Tensor:
        """``score`` maps (pooled, maps, logits) of the test sequences to logits; views averaged."""
        with torch.no_grad():
            return torch.stack([torch.softmax(score(*f).float(), 1) for f in test_feats]).mean(0)

    out = {}
    if finetune:
        out[frame_name] = probabilities(lambda p, m, lg: lg[:, -1])
    else:
        head = fit(FrameHead(pooled.shape[-1], n_classes), pooled, y_train, head_steps, seed=seed, amp=amp,
                   class_weight=class_weight)
        out[frame_name] = probabilities(lambda p, m, lg: head(p))
    for name, make in makers.items():
        model = trained[name] if trained and name in trained else fit(make(), maps, y_train, head_steps, seed=seed, amp=amp,
                                                                      class_weight=class_weight)
        out[name] = probabilities(lambda p, m, lg: model(m))
    return out


def inverse_frequency(labels: np.ndarray, n_classes: int) -> torch.Tensor:
    """Per-class loss weights n / (classes * count): 1 for every class when they are balanced."""
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    return torch.tensor(len(labels) / (n_classes * np.maximum(counts, 1)), dtype=torch.float32)


def subject_folds(subjects: np.ndarray, k: int, seed: int) -> list[np.ndarray]:
    unique = np.array(sorted(set(subjects)))
    np.random.default_rng(seed).shuffle(unique)
    return [np.isin(subjects, part) for part in np.array_split(unique, k)]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", action="append",
                    help=f"a FER2013-trained fernet-s to start from (default {DEFAULT_WEIGHTS}); give it several times "
                         "for an ensemble: each is fine-tuned and gets its own heads per fold, and the rows average "
                         "their probabilities")
    ap.add_argument("--data", default=str(DEFAULT_DATA / "ckplus48.npz"))
    ap.add_argument("--folds", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--finetune-epochs", type=int, default=30, help="0: keep the FER2013 CNN frozen")
    ap.add_argument("--head-steps", type=int, default=300, help="optimiser steps for each head")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--amp", choices=["off", "bf16"], default="off", help="bfloat16 autocast for fine-tuning and head training")
    ap.add_argument("--views", type=int, default=0, help="augmented copies of each training sequence the heads also learn from")
    ap.add_argument("--flip-test", action="store_true", help="score each test sequence with its mirror image too")
    ap.add_argument("--init-head", choices=["random", "fer"], default="random",
                    help="the fine-tuned CNN's CK+ output layer: random, or each row copied from the FER2013 row of "
                         "the same expression (contempt from neutral)")
    ap.add_argument("--rehearse-fer", action="store_true",
                    help="while fine-tuning, every batch also trains the FER2013 output on as many FER2013 Training "
                         "faces (fer2013_training.npz beside --data), so the features do not forget FER2013")
    ap.add_argument("--balance", action="store_true",
                    help="weight every loss by inverse class frequency in the fold's training sequences (CK+ has "
                         "18 contempt sequences against 83 surprise)")
    ap.add_argument("--joint", action="store_true",
                    help="train the TT-LSTM end to end with the CNN while fine-tuning (on whole sequences; the loss adds "
                         "its sequence loss to every frame's) instead of on the fine-tuned CNN's frozen feature maps")
    ap.add_argument("--save-probs", metavar="FILE.npz",
                    help="also write every member's test probabilities per row (members x rows x sequences x classes), "
                         "with the labels, sequence names and fold of every sequence, for analysis without retraining")
    ap.add_argument("--write-catalog", metavar="NAME", help="store the table in this temporal model's catalog entry (metrics.ckplus)")
    ap.add_argument("--log", type=Path, metavar="FILE",
                    help="also write everything the run prints to FILE; with --write-catalog the entry's log key names it")
    a = ap.parse_args(argv)
    if a.joint and not a.finetune_epochs:
        raise SystemExit("ckplus: --joint trains the TT-LSTM while fine-tuning the CNN; it needs --finetune-epochs > 0")
    check_inputs(a)  # before --log opens (and empties) its file
    if a.log is None:
        cross_validate(a)
        return
    try:
        log = a.log.open("w", encoding="utf-8")
    except OSError as exc:
        raise SystemExit(f"ckplus: cannot write the log {a.log}: {exc.strerror}") from None
    with log, contextlib.redirect_stdout(Tee(sys.stdout, log)):
        cross_validate(a)


def check_inputs(a: argparse.Namespace) -> None:
    """One-line errors for what the run would otherwise find only after loading the data: an unknown
    architecture, a missing weights file, a missing CK+ file."""
    for text in a.weights or [DEFAULT_WEIGHTS]:
        try:
            _, weights = member(text, "fernet-s")
        except ValueError as exc:
            raise SystemExit(f"ckplus: {exc}") from None
        path = split_member(weights)[0]
        if not path.is_file():
            raise SystemExit(f"ckplus: no weights file {path} (from --weights {text})")
    if not Path(a.data).is_file():
        raise SystemExit(f"ckplus: no CK+ file {a.data} (give --data)")


class Tee:
    """A text stream that writes to several (the console and a log file), flushing at each line's end so
    the log shows every finished fold even while the run goes on (or after it dies)."""

    def __init__(self, *streams):
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
        if "\n" in text:
            self.flush()
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()


def cross_validate(a: argparse.Namespace) -> None:
    """The whole run for parsed arguments ``a``: the folds, the table, the saved probabilities and the
    catalog entry."""
    a.amp = usable_amp(a.amp, torch.device("cpu"))
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    data = dict(np.load(a.data))
    frames, labels, subjects, names = sequences(data)
    n_classes = len(data["classes"])
    y = torch.from_numpy(labels.astype(np.int64))
    ck_classes = [str(c) for c in data["classes"]]
    hidden_modes = [4, 4, 4, 2]
    assert math.prod(hidden_modes) == a.hidden
    tt_ranks = [4, 4, 4]  # input-to-hidden and hidden-to-hidden
    members = a.weights or [DEFAULT_WEIGHTS]
    # the feature-map size of each member's architecture (C x 6 x 6 on a full face): its heads' input size
    # (check_inputs has already refused unknown architectures)
    map_shapes = [build(member(w, "fernet-s")[0]).map_shape for w in members]
    map_sizes = [math.prod(shape) for shape in map_shapes]

    def head_makers(n_in: int) -> dict:
        """The two recurrent heads for feature maps of ``n_in`` values (TT modes as even as can be:
        4608 -> 8x8x8x9 for fernet-s, 9216 -> 8x8x12x12 for fernet-l)."""
        in_modes = even_modes(n_in, 4)
        return {
            "dense LSTM (feature maps, 3 frames)": lambda: LSTMHead(DenseLSTMCell(n_in, a.hidden), a.hidden, n_classes),
            "TT-LSTM (feature maps, 3 frames)": lambda: LSTMHead(TTLSTMCell(in_modes, hidden_modes, tt_ranks,
                                                                            hidden_ranks=tt_ranks), a.hidden, n_classes),
        }
    makers = head_makers(map_sizes[0])
    frame_name = "frame-only CNN (apex frame)" if a.finetune_epochs else "frame-only (pooled features, apex frame)"
    accs = {frame_name: [], **{k: [] for k in makers}}
    how = f"fine-tuned per fold for {a.finetune_epochs} epochs" if a.finetune_epochs else "frozen"
    how += f"; heads on plain + {a.views} augmented views" if a.views else ""
    how += "; test sequences scored with their mirror images" if a.flip_test else ""
    how += "; CK+ output layer started from the FER2013 rows" if a.init_head == "fer" else ""
    how += "; FER2013 Training faces rehearsed in every fine-tuning batch" if a.rehearse_fer else ""
    how += "; losses weighted by inverse class frequency" if a.balance else ""
    rehearse = None
    if a.rehearse_fer:
        fer_path = Path(a.data).with_name("fer2013_training.npz")
        if not fer_path.exists():
            raise SystemExit(f"ckplus: --rehearse-fer needs {fer_path} (FER2013 Training beside the CK+ file)")
        rehearse = load_split(fer_path)
    how += "; the TT-LSTM trained end to end with it" if a.joint else ""
    how += f"; an ensemble of {len(a.weights)} such CNNs and their heads" if a.weights and len(a.weights) > 1 else ""
    print(f"CK+ {len(labels)} sequences, {len(set(subjects))} subjects, {a.folds} subject-independent folds (seed {a.seed}); "
          f"CNN {how}", flush=True)
    if len(members) > 1:
        print(f"ensemble of {len(members)} CNNs per fold, each with its own heads; the rows average their probabilities: "
              + ", ".join(members), flush=True)
    frozen = None if a.finetune_epochs else [load_fer_net(w) for w in members]
    single = {m: {name: [] for name in accs} for m in range(len(members))}
    wrong = {name: [] for name in accs}  # (sequence, true class, predicted class) per row, over all folds
    member_probs = np.zeros((len(members), len(accs), len(labels), n_classes), dtype=np.float32)
    fold_of = np.zeros(len(labels), dtype=np.int64)
    for k, test in enumerate(subject_folds(subjects, a.folds, a.seed)):
        t0 = time.time()
        y_test = y[torch.from_numpy(test)]
        fold_of[test] = k
        fold_probs = {name: [] for name in accs}
        class_weight = inverse_frequency(labels[~test], n_classes) if a.balance else None
        for m, weights in enumerate(members):
            seed = a.seed + k + 1000 * m
            makers_m = head_makers(map_sizes[m])
            joint = {name: make() for name, make in makers_m.items() if name.startswith("TT")} if a.joint else {}
            net = frozen[m] if frozen is not None else finetune(weights, frames[~test], labels[~test], ck_classes,
                                                                a.finetune_epochs, seed, amp=a.amp, init_head=a.init_head,
                                                                rehearse=rehearse, class_weight=class_weight,
                                                                sequence_head=next(iter(joint.values()), None))
            probs = member_probabilities(net, frames[~test], labels[~test], frames[test], n_classes, makers_m, frame_name,
                                         finetune=bool(a.finetune_epochs), views=a.views, flip_test=a.flip_test,
                                         head_steps=a.head_steps, seed=seed, amp=a.amp, class_weight=class_weight,
                                         trained=joint)
            for r, (name, p) in enumerate(probs.items()):
                member_probs[m, r, test] = p.numpy()
                fold_probs[name].append(p)
                single[m][name].append((p.argmax(1) == y_test).float().mean().item())
        for name, ps in fold_probs.items():
            pred = torch.stack(ps).mean(0).argmax(1)
            accs[name].append((pred == y_test).float().mean().item())
            wrong[name] += [(seq, ck_classes[t], ck_classes[p]) for seq, t, p in zip(names[test], y_test.tolist(), pred.tolist())
                            if t != p]
        print(f"  fold {k + 1}: " + ", ".join(f"{n.split(' (')[0]} {v[-1]:.2%}" for n, v in accs.items())
              + (" (each member's frame-only / dense / TT: " + "; ".join(" / ".join(f"{v[-1]:.2%}" for v in single[m].values())
                                                                      for m in single) + ")"
                 if len(members) > 1 else "")
              + f" ({time.time() - t0:.0f}s)", flush=True)
    if a.save_probs:
        np.savez_compressed(a.save_probs, probs=member_probs, rows=np.array(list(accs)), members=np.array(members),
                            labels=labels, names=names, fold=fold_of, classes=np.array(ck_classes))
        print(f"member probabilities written to {a.save_probs}")
    for name, errors in wrong.items():
        print(f"wrong, {name.split(' (')[0]}: " + (", ".join(f"{seq} {t}->{p}" for seq, t, p in errors) or "none"))
    if len(members) > 1:
        print("single members (mean over folds, same order as the rows below): "
              + "; ".join(f"{w}: " + ", ".join(f"{np.mean(v):.2%}" for v in single[m].values()) for m, w in enumerate(members)))
    print("| head | mean accuracy | std over folds | recurrent-cell params"
          + (f" (each of {len(members)} members)" if len(members) > 1 else "") + " |")
    print("|---|---|---|---|")
    sizes = list(dict.fromkeys(map_sizes))  # one parameter count per feature-map size among the members
    cells = [{name: make().cell for name, make in head_makers(n).items()} for n in sizes]
    for name, v in accs.items():
        params = " / ".join(f"{sum(p.numel() for p in c[name].parameters()) if name in c else 0:,}" for c in cells)
        print(f"| {name} | {np.mean(v):.2%} | {np.std(v):.2%} | {params} |", flush=True)
    tts = [next(c for n, c in cs.items() if n.startswith("TT")) for cs in cells]
    for n, tt in zip(sizes, tts):
        print(f"\nTT-LSTM cell ({n:,} inputs, modes {'x'.join(map(str, tt.x2h.in_modes))}): {tt.tt_params():,} parameters; "
              f"a dense LSTM cell of the same shape has {tt.dense_params():,}: {tt.dense_params() / tt.tt_params():.0f}x smaller.")
    tt = tts[0]
    if a.write_catalog:
        from ferdesk.training.catalogs import CatalogStore

        command = (f"python -m ferdesk.training.ckplus {' '.join(f'--weights {w}' for w in members)} --folds {a.folds} --seed {a.seed} "
                   f"--finetune-epochs {a.finetune_epochs}"
                   + (f" --amp {a.amp}" if a.amp != "off" else "") + (f" --views {a.views}" if a.views else "")
                   + (" --flip-test" if a.flip_test else "") + (" --init-head fer" if a.init_head == "fer" else "")
                   + (" --rehearse-fer" if a.rehearse_fer else "") + (" --balance" if a.balance else "")
                   + (" --joint" if a.joint else "")
                   + (f" --head-steps {a.head_steps}" if a.head_steps != 300 else "") + f" --write-catalog {a.write_catalog}"
                   + (f" --log {a.log.as_posix()}" if a.log is not None else ""))
        store = CatalogStore()
        doc = store.document()
        entry = next(m for m in doc["models"] if m["name"] == a.write_catalog)
        entry.setdefault("metrics", {})["ckplus"] = {
            "protocol": f"{len(labels)} sequences x 3 onset-to-apex frames, {a.folds}-fold subject-independent CV "
                        f"(seed {a.seed}), {n_classes} classes; CNN ({', '.join(members)}) {how}; the recurrent heads read "
                        f"{' / '.join('x'.join(map(str, shape)) for shape in dict.fromkeys(map_shapes))} feature maps (hidden {a.hidden}, TT modes "
                        f"{' / '.join('x'.join(map(str, t.x2h.in_modes)) for t in tts)} -> {'x'.join(map(str, hidden_modes))}, "
                        f"ranks {'x'.join(map(str, tt_ranks))})",
            **{name: {"mean_accuracy": round(float(np.mean(v)), 4), "std": round(float(np.std(v)), 4)} for name, v in accs.items()},
            "tt_lstm_cell_params": tt.tt_params(), "dense_lstm_cell_params": tt.dense_params(),
            "compression": round(tt.dense_params() / tt.tt_params(), 1), "command": command,
        }
        if a.log is not None:
            entry["metrics"]["ckplus"]["log"] = a.log.as_posix()
        store.save(doc)
        print(f"stored in the catalog entry {a.write_catalog} (metrics.ckplus)")


if __name__ == "__main__":
    main()
