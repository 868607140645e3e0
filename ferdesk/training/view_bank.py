"""A bank of augmented views of every Training face, each with a bundled model's probabilities on it.

Distilling from precomputed targets (one per face, on the clean face and its mirror) is cheap but the
student then trains on augmented faces the teacher never saw; online distillation (``--kd-online``) runs
the teachers on every augmented batch, so both agree on the input, but that costs a teacher pass per
step: on a CPU, several hours for the zoo's teachers. The bank sits between the two: ``views``
augmented copies of every face are drawn once (the training augmentation, seeded), a bundled model
(any catalog entry, run through ONNX Runtime, INT8 ensembles included) scores each copy once, and
every training step then takes one stored copy per face with the teacher's probabilities on exactly
that image. The student sees ``views`` augmentations of each face instead of a fresh one per epoch.

The views are stored as 8-bit grey images (what a camera delivers), so the teacher and the student see
the same pixels; the probabilities as float32. A bank for 28,709 faces x 6 views takes 400 MB.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ferdesk.training.catalogs import repo_catalog
from ferdesk.training.augment import augment


@dataclass(frozen=True)
class ViewBank:
    images: torch.Tensor  # uint8 (faces, views, 1, 48, 48)
    probs: torch.Tensor   # float32 (faces, views, classes): the teacher's probabilities on each view

    @property
    def views(self) -> int:
        return self.images.shape[1]

    def faces(self, idx: torch.Tensor, views: torch.Tensor) -> torch.Tensor:
        """The stored views ``views[j]`` of faces ``idx[j]``, as float in [0, 1]."""
        return self.images[idx, views].float().div_(255)

    def soft_targets(self, idx: torch.Tensor, views: torch.Tensor, temperature: float) -> torch.Tensor:
        """The teacher's probabilities on those views, softened at ``temperature`` (p^(1/T), renormalised)."""
        return torch.softmax(self.probs[idx, views].clamp_min(1e-8).log() / temperature, dim=1)


def teacher_session(model: str, threads: int):
    """(engine, input spec) of the catalog entry ``model`` on ONNX Runtime."""
    from ferdesk.engines.onnxruntime_engine import OnnxRuntimeEngine
    from ferdesk.errors import ModelError

    try:
        spec = repo_catalog().get(model)
        mf = spec.file_for("onnx")
        if mf is None:
            raise ModelError("the catalog entry has no ONNX file")
        return OnnxRuntimeEngine(mf.path, threads=threads), spec.input_for(mf)
    except ModelError as e:
        raise SystemExit(f"--teacher-model {model}: {str(e).split(' (known:')[0]}") from None


def build_bank(x: torch.Tensor, model: str, views: int, seed: int, threads: int = 2,
               batch: int = 256, camera_p: float = 0.0) -> ViewBank:
    """``views`` augmented copies of every face of ``x`` ((N, 1, 48, 48) float in [0, 1]), drawn with the
    training augmentation from a generator seeded with ``seed`` (camera effects on a fraction ``camera_p``
    of them), and the catalog model ``model``'s probabilities on each."""
    gen = torch.Generator().manual_seed(seed)
    engine, spec = teacher_session(model, threads)
    n = len(x)
    images = torch.empty((n, views, 1, 48, 48), dtype=torch.uint8)
    probs = torch.empty((n, views, 7), dtype=torch.float32)
    t0 = time.time()
    for v in range(views):
        for i in range(0, n, batch):
            faces = augment(x[i:i + batch], gen, camera_p).mul_(255).round_().to(torch.uint8)
            images[i:i + batch, v] = faces
            out = engine.run(spec.to_tensor(faces[:, 0].numpy()))[0]
            probs[i:i + batch, v] = torch.from_numpy(np.asarray(out, dtype=np.float32))
        print(f"view bank: view {v + 1}/{views} scored by {model} ({time.time() - t0:.0f}s)", flush=True)
    return ViewBank(images, probs)


def load_or_build(path: Path | None, x: torch.Tensor, model: str, views: int, seed: int,
                  threads: int = 2, camera_p: float = 0.0) -> ViewBank:
    """The bank stored at ``path`` when it holds ``views`` views of as many faces drawn with the same seed
    and camera effects and scored by the same model; otherwise a new one (saved there when ``path`` is given)."""
    if path is not None and Path(path).is_file():
        with np.load(path) as d:
            probs = d["probs"]  # small: the checks read it, and the 400 MB of images only once they pass
            same_seed = "seed" in d.files and int(d["seed"]) == seed  # banks saved before seeds were stored: rebuilt
            same_camera = float(d["camera_p"]) == camera_p if "camera_p" in d.files else camera_p == 0
            if str(d["model"]) == model and same_seed and same_camera and probs.shape[:2] == (len(x), views):
                print(f"view bank: loaded {path}", flush=True)
                return ViewBank(torch.from_numpy(d["images"]), torch.from_numpy(probs))
        print(f"view bank: {path} holds another bank; building a new one", flush=True)
    bank = build_bank(x, model, views, seed, threads, camera_p=camera_p)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, images=bank.images.numpy(), probs=bank.probs.numpy(), model=np.array(model), seed=np.array(seed),
                 camera_p=np.array(camera_p))
    return bank
