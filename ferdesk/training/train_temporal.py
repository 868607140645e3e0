"""Train the live temporal head: a TT-LSTM over a sliding window of one track's frame features.

usage: python -m ferdesk.training.train_temporal [--model fernet-s-int8] [--window 16] [--epochs 12]
           [--name tt-lstm-fernet-s] [--write]

1. Synthesises one track of ``--window`` frames per FER2013 Training face (ferdesk.training.sequences:
   motion, lighting, blur, noise, detector jitter; a quarter of the tracks change expression part-way)
   and runs the bundled frame model (the catalog file, on onnxruntime, as the app does) to get each
   frame's features and probabilities.
2. Trains the head on windows of 1..W frames (left-padded with zeros, as the live head pads a young
   track), the loss on every frame's output against that frame's label. Expression changes are
   made at training time, in feature space: a ``--splice`` fraction of windows switch from one
   track to another at a random frame (the tracks with a change from step 1 are not used for
   training, so the rate is this option alone). A dense LSTM of the same shape is trained alongside.
   With ``--mean-prior`` the head also reads the frames' probabilities and its output is added to the
   log of their similarity-weighted mean over the window (``WindowHead.prior``).
3. Reports, on tracks synthesised the same way from FER2013 PublicTest (never used for training or
   selection), per-frame accuracy and flicker (label changes per track) of frame-only, an EMA of the
   frame probabilities, the dense LSTM and the TT-LSTM, each run causally frame by frame.
4. With ``--write``: exports the TT-LSTM to ONNX (``models/temporal/NAME.onnx``, the TT cores stored,
   not the dense matrices) with a summary, and adds/updates its catalog entry.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ferdesk.catalog import file_digest
from ferdesk.training.catalogs import CatalogStore, repo_catalog
from ferdesk.training.extra_sets import license_text
from ferdesk.classifier import Classifier
from ferdesk.training.sequences import TrackStyle, synthesise_tracks
from ferdesk.training.train_classifier import DEFAULT_DATA
from ferdesk.training.tt import TTLSTMCell, even_modes


class DenseCell(nn.Module):
    def __init__(self, n_in: int, hidden: int):
        super().__init__()
        self.hidden = hidden
        self.x2h = nn.Linear(n_in, 4 * hidden)
        self.h2h = nn.Linear(hidden, 4 * hidden, bias=False)


class WindowHead(nn.Module):
    """(N, W, F) features of a track's last W frames (oldest first, zero rows before the track began)
    -> (N, C) logits for the last frame. The input projection runs once over all W frames, then the
    recurrence runs W small steps (an ONNX Scan in the exported file, see temporal_export)."""

    def __init__(self, cell: nn.Module, feat_mean: torch.Tensor, feat_std: torch.Tensor, n_classes: int = 7,
                 mean_prior: bool = False):
        super().__init__()
        self.cell = cell
        self.register_buffer("feat_mean", feat_mean)
        self.register_buffer("feat_std", feat_std)
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(cell.hidden, n_classes)
        self.mean_prior = mean_prior
        if mean_prior:
            self.prior_weight = nn.Parameter(torch.ones(1))
            self.same_face_sharpness = nn.Parameter(torch.tensor(10.0))
            self.same_face_above = nn.Parameter(torch.tensor(0.3))

    def prior(self, xs: torch.Tensor, probs: torch.Tensor, every_step: bool = False) -> torch.Tensor:
        """With ``mean_prior``: the log of a weighted mean of the frame model's probabilities over the
        window, scaled by a learnt weight, which the head's output adds to the LSTM's: (N, C) for the
        last frame, or (N, W, C) for every step with ``every_step`` (each over the frames up to it).

        A frame's weight is how much its standardised features look like the current frame's:
        sigmoid(sharpness * (cosine - above)), both learnt, zero on padding. So the mean runs over the
        frames of the face now in view and drops those of a different face that took over the track.
        The LSTM then learns a correction to that average (follow a change of expression, discount an
        odd frame) instead of having to learn to average."""
        present = (xs.abs().sum(-1, keepdim=True) > 0).to(xs.dtype)                      # (N, W, 1)
        z = (xs - self.feat_mean) / self.feat_std * present
        z = z / z.norm(dim=-1, keepdim=True).clamp(min=1e-6)
        if not every_step:
            z_now = z[:, -1:]                                                             # (N, 1, F)
            keep = present.transpose(1, 2)                                                # (N, 1, W)
        else:
            z_now = z
            w = xs.shape[1]
            keep = present.transpose(1, 2) * torch.tril(xs.new_ones(w, w))               # (N, W, W): s <= t
        weight = torch.sigmoid(self.same_face_sharpness * (z_now @ z.transpose(1, 2) - self.same_face_above)) * keep
        mean = (weight @ probs) / weight.sum(-1, keepdim=True).clamp(min=1e-6)
        mean = mean if every_step else mean[:, 0]
        return torch.log(mean + 1e-4) * self.prior_weight

    def project(self, xs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, W, F) features -> input-to-hidden gate inputs (N, W, 4H) of all frames at once, and
        (N, W, 1): 1 where a frame is present, 0 on the padding before the track began."""
        n, w, f = xs.shape
        present = (xs.abs().sum(-1, keepdim=True) > 0).to(xs.dtype)          # padding rows stay zero
        xs = (xs - self.feat_mean) / self.feat_std * present
        return self.cell.x2h(xs.reshape(n * w, f)).reshape(n, w, -1), present

    def step(self, h: torch.Tensor, c: torch.Tensor, gx_t: torch.Tensor, keep: torch.Tensor):
        """One recurrence step; where ``keep`` is 0 (padding) the state stays as it was."""
        gates = gx_t + self.cell.h2h(h)
        i, fg, g, o = gates.chunk(4, dim=-1)
        c_new = torch.sigmoid(fg) * c + torch.sigmoid(i) * torch.tanh(g)
        h_new = torch.sigmoid(o) * torch.tanh(c_new)
        return keep * h_new + (1 - keep) * h, keep * c_new + (1 - keep) * c

    def readout(self, h: torch.Tensor, prior: torch.Tensor | None = None) -> torch.Tensor:
        out = self.fc(self.drop(h))
        return out if prior is None else out + prior

    def forward(self, xs: torch.Tensor, probs: torch.Tensor | None = None, every_step: bool = False) -> torch.Tensor:
        """(N, W, C) logits of every step with ``every_step`` (training), else (N, C) of the last.
        ``probs`` (N, W, C): the frame model's probabilities of the same frames (needed with ``mean_prior``)."""
        if self.mean_prior and probs is None:
            raise ValueError("a head with mean_prior needs the frames' probabilities")
        gx, present = self.project(xs)
        h = xs.new_zeros(xs.shape[0], self.cell.hidden)
        c = torch.zeros_like(h)
        steps = []
        for t in range(xs.shape[1]):
            h, c = self.step(h, c, gx[:, t], present[:, t])
            if every_step:
                steps.append(h)
        prior = self.prior(xs, probs, every_step) if self.mean_prior else None
        return self.readout(torch.stack(steps, 1) if every_step else h, prior)


THRESHOLD_TRACKS = 4096     # plain training tracks for new_face_below when the training tracks are disturbed more


def tracks_at_frame_accuracy(right: np.ndarray, target: float, seed: int) -> np.ndarray:
    """A mask over tracks ((S, W) bool: the frame model right on each frame) that keeps every track the
    model gets mostly wrong and as many of the others, at random, as bring the kept frames' accuracy down
    to ``target``: the head then trains where single frames are as reliable as on new faces."""
    per_track = right.mean(1)
    hard = per_track < 0.5
    easy = np.flatnonzero(~hard)
    easy = easy[np.random.default_rng(seed).permutation(len(easy))]
    total = np.concatenate([[per_track[hard].sum()], per_track[hard].sum() + np.cumsum(per_track[easy])])
    count = hard.sum() + np.arange(len(easy) + 1)
    m = int(np.flatnonzero(total / np.maximum(count, 1) <= target).max(initial=0))
    keep = hard.copy()
    keep[easy[:m]] = True
    return keep


def input_modes(n_in: int) -> list[int]:
    """Three TT modes whose product is ``n_in``, as even as can be (the largest mode smallest, then
    the smallest largest), ascending: 128 -> [4, 4, 8] (fernet-s), 160 -> [4, 5, 8] (fernet-sm)."""
    return even_modes(n_in, 3)


def make_cell(kind: str, n_in: int) -> nn.Module:
    if kind == "tt":
        return TTLSTMCell(input_modes(n_in), [4, 4, 4], [4, 4], hidden_ranks=[4, 4])
    return DenseCell(n_in, 64)


def cell_params(cell: nn.Module) -> int:
    return sum(p.numel() for p in cell.parameters())


def track_outputs(clf: Classifier, images: np.ndarray, labels: np.ndarray, window: int, seed: int,
                  chunk: int = 1024, style: TrackStyle = TrackStyle()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Synthesised tracks through the frame model: (S, W, F) features, (S, W, C) probabilities, (S, W) labels."""
    feats, probs, ys = [], [], []
    for start in range(0, len(images), chunk):
        crops, y = synthesise_tracks(images[start:start + chunk], labels[start:start + chunk], window, seed + start,
                                     style=style)
        s = crops.shape[0]
        p, f = clf.classify_with_features(crops.reshape(s * window, *crops.shape[2:]))
        feats.append(f.reshape(s, window, -1).astype(np.float16))
        probs.append(p.reshape(s, window, -1))
        ys.append(y)
        print(f"  tracks {start + s}/{len(images)}", flush=True)
    return np.concatenate(feats), np.concatenate(probs), np.concatenate(ys)


def windows_at(x: torch.Tensor, t: int, window: int) -> torch.Tensor:
    """The causal window ending at frame t of every track, left-padded with zeros."""
    lo = max(0, t - window + 1)
    part = x[:, lo:t + 1]
    return F.pad(part, (0, 0, window - part.shape[1], 0))


def train_head(model: WindowHead, feats: torch.Tensor, labels: torch.Tensor, epochs: int, seed: int,
               splice: float = 0.15, stability: float = 0.0, batch: int = 256, lr: float = 3e-3,
               probs: torch.Tensor | None = None) -> WindowHead:
    """``feats`` (S, W, F) and ``labels`` (S,) of tracks of one face each; ``probs`` (S, W, C) the frame
    model's probabilities of the same frames (a head with ``mean_prior`` reads them)."""
    gen = torch.Generator().manual_seed(seed)
    batch = min(batch, len(feats))      # a quick run (--limit) with fewer tracks than a batch still takes steps
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * (len(feats) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    s, w, _ = feats.shape
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(s, generator=gen)
        total = 0.0
        for i in range(len(feats) // batch):
            idx = perm[i * batch:(i + 1) * batch]
            n = len(idx)
            # a window of the last `length` frames of a track (zeros before it began) ...
            length = torch.randint(1, w + 1, (n,), generator=gen)
            pos = torch.arange(w)
            valid = pos[None] >= (w - length[:, None])
            xb = feats[idx] * valid[..., None]
            pb = None if probs is None else probs[idx]
            yb = labels[idx][:, None].expand(n, w).clone()
            # ... that, for a `splice` fraction, switches to another track's frames from slot `at` on
            other = torch.randint(0, s, (n,), generator=gen)
            at = torch.randint(1, w, (n,), generator=gen)
            switch = (torch.rand(n, generator=gen) < splice)[:, None] & (pos[None] >= at[:, None]) & valid
            xb = torch.where(switch[..., None], feats[other], xb)
            if pb is not None:
                pb = torch.where(switch[..., None], probs[other], pb)
            yb = torch.where(switch, labels[other][:, None].expand(n, w), yb)
            logits = model(xb, pb, every_step=True)
            loss = F.cross_entropy(logits[valid], yb[valid], label_smoothing=0.1)
            if stability:
                # steadiness where the face did not change: consecutive outputs should agree
                p = torch.softmax(logits, -1)
                same = valid[:, 1:] & valid[:, :-1] & (yb[:, 1:] == yb[:, :-1]) & (switch[:, 1:] == switch[:, :-1])
                loss = loss + stability * ((p[:, 1:] - p[:, :-1]) ** 2).sum(-1)[same].mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        print(f"  epoch {epoch + 1}/{epochs} loss {total / (i + 1):.4f}", flush=True)
    return model.eval()


@torch.no_grad()
def causal_predictions(model: WindowHead, feats: torch.Tensor, window: int, probs: torch.Tensor | None = None) -> np.ndarray:
    """(S, T) labels from running the head on every frame's causal window, as the live app does."""
    return np.stack([model(windows_at(feats, t, window), None if probs is None else windows_at(probs, t, window))
                     .argmax(1).numpy() for t in range(feats.shape[1])], 1)


def ema_predictions(probs: np.ndarray, alpha: float = 0.4) -> np.ndarray:
    out, state = [], probs[:, 0]
    for t in range(probs.shape[1]):
        state = probs[:, t] if t == 0 else alpha * probs[:, t] + (1 - alpha) * state
        out.append(state.argmax(1))
    return np.stack(out, 1)


def window_mean_predictions(probs: np.ndarray, window: int) -> np.ndarray:
    """Labels of the mean frame probabilities over each frame's causal window (what a ``--mean-prior``
    head starts from): on tracks of one face each, a running mean that knows where the face began."""
    total = np.cumsum(probs, 1)
    ahead = np.concatenate([np.zeros_like(total[:, :window]), total[:, :-window]], 1)
    return (total - ahead).argmax(2)


def new_face_threshold(feats: np.ndarray, quantile: float = 0.002) -> float:
    """The live head's ``new_face_below``: on tracks of one face each, ``feats`` (S, W, F), how alike
    (cosine) a frame is to the mean of the frames before it; the ``quantile`` of that, so that a
    window is restarted for about that fraction of frames of an unchanged face."""
    sims = []
    for t in range(1, feats.shape[1]):
        mean = feats[:, :t].astype(np.float32).mean(1)
        now = feats[:, t].astype(np.float32)
        sims.append((mean * now).sum(-1) / np.maximum(np.linalg.norm(mean, axis=-1) * np.linalg.norm(now, axis=-1), 1e-12))
    return round(float(np.quantile(np.concatenate(sims), quantile)), 3)


def score(pred: np.ndarray, labels: np.ndarray) -> dict:
    return {"accuracy": float((pred == labels).mean()),
            "flicker": float((pred[:, 1:] != pred[:, :-1]).sum(1).mean()),
            "accuracy_by_frame": [round(float(v), 4) for v in (pred == labels).mean(0)]}


def export_onnx(model: WindowHead, window: int, n_feat: int, path: Path) -> None:
    """The TT cores and one recurrence step, looped by an ONNX Scan (ferdesk.training.temporal_export)."""
    from ferdesk.training.temporal_export import export_scan_onnx

    export_scan_onnx(model.eval(), window, n_feat, path)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="fernet-s-int8", help="the frame classifier whose features the head reads")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--window", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--splice", type=float, default=0.15, help="fraction of training windows with a change of expression")
    ap.add_argument("--stability", type=float, default=0.0, help="weight of the penalty on output changes between frames of one face")
    ap.add_argument("--heads", default="dense,tt", help="which LSTM heads to train (the TT one is exported)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train-disturbance", type=float, default=1.0,
                    help="scale the training tracks' motion, lighting, noise and blur (PublicTest tracks stay at 1): "
                         "a frame model that has learnt its Training faces well is far more often right on them than "
                         "on new faces, and a head trained on such tracks learns to trust single frames")
    ap.add_argument("--match-frame-accuracy", action="store_true",
                    help="train only on a subset of the training tracks on which the frame model is right as often "
                         "as on the PublicTest tracks (all the tracks it gets mostly wrong, and a random share of the rest)")
    ap.add_argument("--mean-prior", action="store_true",
                    help="the head adds the LSTM's output to the log of the window's mean frame probabilities, each frame "
                         "weighted by how much its features look like the current frame's (the LSTM learns a "
                         "correction to that average); its ONNX file then reads the frames' probabilities too")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0, help="use only this many training faces (quick runs)")
    ap.add_argument("--extra", type=Path, action="append", default=[], metavar="FILE.npz",
                    help="more training faces (an .npz of 48x48 crops with labels, as ferdesk.training.photo_crops "
                         "writes), appended to FER2013 Training; repeatable")
    ap.add_argument("--extra-repeat", type=int, default=1, help="how many times each --extra is appended")
    ap.add_argument("--name", default="tt-lstm-fernet-s")
    ap.add_argument("--cache", type=Path, default=Path("build/temporal"), help="features are cached here between runs")
    ap.add_argument("--write", action="store_true", help="export the TT-LSTM and update the catalog")
    ap.add_argument("--threshold-only", action="store_true",
                    help="only compute new_face_below from the training tracks and store it in the --name entry")
    a = ap.parse_args(argv)
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    t0 = time.time()
    catalog = repo_catalog()
    spec = catalog.get(a.model)
    clf = Classifier(spec, backend="onnxruntime", threads=a.threads)
    if not clf.has_features:
        raise SystemExit(f"model {a.model} has no features output")
    a.cache.mkdir(parents=True, exist_ok=True)
    data = {}
    for split, seed in (("training", a.seed), ("publictest", a.seed + 1_000_003)):
        k = a.train_disturbance if split == "training" else 1.0
        extras = a.extra if split == "training" else []
        cache = a.cache / (f"{a.model}-{spec.primary.sha256[:10]}-{split}-w{a.window}-s{seed}-n{a.limit}"
                           + (f"-d{k:g}" if k != 1.0 else "")
                           + "".join(f"-x{file_digest(e)[:10]}r{a.extra_repeat}" for e in extras) + ".npz")
        if cache.exists():
            d = np.load(cache)
            data[split] = d["features"], d["probs"], d["labels"]
        else:
            raw = np.load(a.data / f"fer2013_{split}.npz")
            images, labels = raw["images"], raw["labels"]
            for extra in extras:
                more = np.load(extra)
                images = np.concatenate([images] + [more["images"]] * a.extra_repeat)
                labels = np.concatenate([labels] + [more["labels"]] * a.extra_repeat)
            n = a.limit if (a.limit and split == "training") else len(labels)
            print(f"synthesising {n} {split} tracks of {a.window} frames and running {a.model}", flush=True)
            data[split] = track_outputs(clf, images[:n], labels[:n], a.window, seed, style=TrackStyle().scaled(k))
            np.savez(cache, features=data[split][0], probs=data[split][1], labels=data[split][2])
    ftr, ptr, ytr_tracks = data["training"]
    fte, pte, yte = data["publictest"]
    one_face = (ytr_tracks == ytr_tracks[:, :1]).all(1)     # splices are made at training time instead
    ftr, ytr, ptr_kept = ftr[one_face], ytr_tracks[one_face, 0], ptr[one_face]
    if a.train_disturbance == 1.0:
        new_face_below = new_face_threshold(ftr)
    else:                                                   # the live threshold is set on tracks as the app sees them
        raw = np.load(a.data / "fer2013_training.npz")
        n = min(THRESHOLD_TRACKS, a.limit or THRESHOLD_TRACKS)
        plain, _, plain_labels = track_outputs(clf, raw["images"][:n], raw["labels"][:n], a.window, a.seed)
        new_face_below = new_face_threshold(plain[(plain_labels == plain_labels[:, :1]).all(1)])
    if a.threshold_only:
        set_entry_keys(a.name, new_face_below=new_face_below)
        print(f"{a.name}: new_face_below = {new_face_below} (0.2% quantile of within-track similarity, training tracks)")
        return
    test_frame_accuracy = float((pte.argmax(2) == yte).mean())
    if a.match_frame_accuracy:
        right = ptr_kept.argmax(2) == ytr[:, None]
        keep = tracks_at_frame_accuracy(right, test_frame_accuracy, a.seed)
        print(f"--match-frame-accuracy: {keep.sum()} of {len(keep)} training tracks kept, frame model right on "
              f"{right[keep].mean():.2%} of their frames (target {test_frame_accuracy:.2%})", flush=True)
        ftr, ytr, ptr_kept = ftr[keep], ytr[keep], ptr_kept[keep]
    xtr = torch.from_numpy(ftr.astype(np.float32))
    mean, std = xtr.mean((0, 1)), xtr.std((0, 1)).clamp(min=1e-3)
    results, models = {}, {}
    print(f"frame model on the training tracks: {(ptr.argmax(2) == ytr_tracks).mean():.2%} of frames right "
          f"(PublicTest tracks: {test_frame_accuracy:.2%})", flush=True)
    results["frame-only"] = score(pte.argmax(2), yte)
    results["ema (alpha 0.4)"] = score(ema_predictions(pte), yte)
    results["window mean"] = score(window_mean_predictions(pte, a.window), yte)
    for kind in a.heads.split(","):
        print(f"training the {kind} LSTM head", flush=True)
        model = train_head(WindowHead(make_cell(kind, xtr.shape[-1]), mean, std, mean_prior=a.mean_prior), xtr,
                           torch.from_numpy(ytr), a.epochs, a.seed, splice=a.splice, stability=a.stability,
                           probs=torch.from_numpy(ptr_kept.astype(np.float32)) if a.mean_prior else None)
        models[kind] = model
        results[f"{kind} LSTM"] = score(causal_predictions(model, torch.from_numpy(fte.astype(np.float32)), a.window,
                                                           torch.from_numpy(pte.astype(np.float32)) if a.mean_prior else None), yte)
    tt_params, dense_params = cell_params(models["tt"].cell), cell_params(make_cell("dense", xtr.shape[-1]))
    head_extra = sum(p.numel() for p in models["tt"].parameters()) - tt_params     # output layer (and prior weight)
    lines = [f"synthetic PublicTest tracks: {len(yte)} x {a.window} frames (frame model {a.model}); "
             f"training: {len(ytr)} tracks, {a.epochs} epochs, seed {a.seed}, {time.time() - t0:.0f}s",
             f"{int((~one_face).sum())} training tracks with a change left out; training windows spliced at rate {a.splice}",
             "| head | per-frame accuracy | flicker (label changes per track) |", "|---|---|---|"]
    lines += [f"| {k} | {v['accuracy']:.2%} | {v['flicker']:.2f} |" for k, v in results.items()]
    lines.append(f"new_face_below (0.2% quantile of a frame's cosine similarity to its track's earlier frames, "
                 f"training tracks): {new_face_below}")
    lines.append(f"LSTM cell parameters: TT {tt_params:,}, dense {dense_params:,} ({dense_params / tt_params:.1f}x); "
                 f"output layer {head_extra:,}")
    lines.append(f"command: python -m ferdesk.training.train_temporal --model {a.model} --window {a.window} "
                 f"--epochs {a.epochs} --seed {a.seed} --splice {a.splice} --stability {a.stability} --heads {a.heads}"
                 + (f" --train-disturbance {a.train_disturbance:g}" if a.train_disturbance != 1.0 else "")
                 + (" --match-frame-accuracy" if a.match_frame_accuracy else "")
                 + (" --mean-prior" if a.mean_prior else "")
                 + (f" --limit {a.limit}" if a.limit else "")
                 + "".join(f" --extra {e}" for e in a.extra) + (f" --extra-repeat {a.extra_repeat}" if a.extra else "")
                 + (f" --name {a.name}" if a.name else "") + (" --write" if a.write else ""))
    print("\n".join(lines), flush=True)
    if a.write:
        write_model(a, models["tt"], spec, results, tt_params + head_extra, dense_params + head_extra, "\n".join(lines),
                    new_face_below)


def set_entry_keys(name: str, **keys) -> None:
    store = CatalogStore()
    doc = store.document()
    entry = next((m for m in doc["models"] if m["name"] == name), None)
    if entry is None:
        raise SystemExit(f"no catalog entry {name}")
    entry.update(keys)
    store.save(doc)


def catalog_with_head(models: list[dict], entry: dict, space: str) -> list[dict]:
    """The catalog's model list with the head ``entry`` (reading features of ``space``) added or replaced.

    A CK+ figure (``ferdesk.training.ckplus --write-catalog``) is kept only from this head's own earlier entry:
    it is measured on the head's own frame network, so another head's figure never carries over. The head
    becomes the default temporal model when it reads the default classifier's features (or no temporal model
    is the default yet); otherwise the default stays where it was."""
    old = next((m for m in models if m["name"] == entry["name"]), {})
    if "ckplus" in old.get("metrics", {}):
        entry["metrics"]["ckplus"] = old["metrics"]["ckplus"]
    default_classifier = next((m for m in models if m["task"] == "classifier" and m.get("default")), {})
    others = [m for m in models if m["name"] != entry["name"]]
    if (default_classifier.get("features", {}).get("space") == space
            or not any(m["task"] == "temporal" and m.get("default") for m in others)):
        entry["default"] = True
        for m in others:
            if m["task"] == "temporal":
                m.pop("default", None)
    return others + [entry]


def write_model(a, model: WindowHead, frame_spec, results: dict, params: int, dense_params: int, summary: str,
                new_face_below: float) -> None:
    store = CatalogStore()
    out = store.folder(a.name) / "temporal"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{a.name}.onnx"
    export_onnx(model, a.window, int(frame_spec.get("features")["size"]), path)
    (out / f"{a.name}.summary.txt").write_text(summary + "\n")
    (out / f"{a.name}.results.json").write_text(json.dumps(results, indent=1) + "\n")
    feats = frame_spec.get("features")
    entry = {
        "name": a.name, "task": "temporal",
        "description": "TT-LSTM over a sliding window of one tracked face's frame features (input-to-hidden and "
                       "hidden-to-hidden maps as tensor trains), trained on synthetic tracks of FER2013 Training faces."
                       + (" Its output is a learnt correction added to the log of the window's mean frame probabilities,"
                            " each frame weighted by how much its features look like the current frame's."
                          if model.mean_prior else ""),
        "labels": list(frame_spec.labels),
        "window": a.window,
        "reads": {"features": feats["space"], "size": feats["size"],
                  "what": f"the '{feats['output']}' output of a classifier whose features.space is {feats['space']}"
                          + ("; and the same frames' class probabilities (graph input 'probs')" if model.mean_prior else ""),
                  **({"probs": True} if model.mean_prior else {})},
        "output": "logits",
        "params": params, "dense_params": dense_params, "new_face_below": new_face_below,
        "files": [{"format": "onnx", "path": f"temporal/{path.name}", "precision": "fp32",
                   "size_bytes": path.stat().st_size, "sha256": file_digest(path)}],
        "file": f"temporal/{path.name}", "format": "onnx", "size_bytes": path.stat().st_size,
        "metrics": {"synthetic_publictest_tracks": {k: {"accuracy": round(v["accuracy"], 4), "flicker": round(v["flicker"], 3)}
                                                    for k, v in results.items()},
                    "command": summary.splitlines()[-1].removeprefix("command: ")},
        "license": license_text(a.extra),
    }
    if a.extra:
        entry["description"] = entry["description"].replace(
            "synthetic tracks of FER2013 Training faces", "synthetic tracks of FER2013 Training faces and of "
            + " and ".join(e.name for e in a.extra) + f" ({a.extra_repeat}x)")
    doc = store.document()
    doc["models"] = catalog_with_head(doc["models"], entry, feats["space"])
    store.save(doc)
    print(f"wrote {path} ({path.stat().st_size:,} bytes) and its catalog entry")


if __name__ == "__main__":
    main()
