"""Export a trained classifier to ONNX (FP32, dynamic batch) and TFLite, and write its catalog entry.

usage: python -m ferdesk.training.export --arch fernet-s --weights build/train/fernet-s/model.pt \
           --name fernet-s [--summary build/train/fernet-s/summary.txt] [--default]
       python -m ferdesk.training.export --weights fernet-s=a.pt --weights fernet-m=b.pt --name mixed

``--weights`` repeats for an ensemble; ``ARCH=PATH`` names each network's architecture (networks
of different architectures can then be mixed), a plain ``PATH`` takes ``--arch``.

The exported graphs end in a softmax, so every output is a probability vector in the
catalog's label order. Accuracy figures are added afterwards by ``tools/measure_models.py``.
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import torch
from torch import nn

from ferdesk.catalog import file_digest
from ferdesk.training.catalogs import CatalogStore
from ferdesk.training.extra_sets import dataset_text, extras_in_summary, license_text
from ferdesk.training.nets import ARCHITECTURES, load, member

FER_LABELS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
INPUT_SPEC = {"width": 48, "height": 48, "channels": 1, "colour": "gray", "layout": "NCHW", "dtype": "float32",
              "scale": 1 / 255, "mean": [0.0], "std": [1.0]}


class WithSoftmax(nn.Module):
    """The mean softmax of one or more networks (an ensemble when several); with ``flip``, also
    over the mirrored face (test-time augmentation), run as a second image in the same batch.

    With ``features`` the graph has a second output, ``features``: the pooled CNN features of
    the unflipped face (concatenated over an ensemble's networks), which temporal heads read.
    The probabilities stay the first output, so a reader that takes output 0 is unaffected.
    """

    def __init__(self, nets: list[nn.Module], flip: bool = False, features: bool = True):
        super().__init__()
        self.nets = nn.ModuleList(nets)
        self.flip = flip
        self.features = features

    def forward(self, x):
        # the mirror image rides in the same batch as the face: one pass over the weights, so an INT8
        # file stores (and quantises) each weight once
        views = torch.cat([x, torch.flip(x, dims=[3])]) if self.flip else x
        probs, feats = [], []
        for net in self.nets:
            logits, f = net.forward_with_features(views)
            p = torch.softmax(logits, dim=1)
            probs.append(p.reshape(2, -1, p.shape[1]).mean(0) if self.flip else p)
            feats.append(f[:x.shape[0]] if self.flip else f)
        p = probs[0] if len(probs) == 1 else torch.stack(probs).mean(0)
        if not self.features:
            return p
        # relu is the identity here (the features are means of ReLU outputs); it gives the output its
        # own tensor, which PT2E INT8 needs (one tensor cannot carry two quantisation parameter sets)
        return p, torch.relu(feats[0] if len(feats) == 1 else torch.cat(feats, dim=1))


def export_onnx(model: nn.Module, path: Path) -> None:
    x = torch.rand(1, 1, 48, 48)
    outputs = ["probabilities", "features"] if getattr(model, "features", False) else ["probabilities"]
    torch.onnx.export(model, (x,), str(path), input_names=["input"], output_names=outputs,
                      dynamic_axes={"input": {0: "batch"}, **{o: {0: "batch"} for o in outputs}}, opset_version=17, dynamo=False)


def export_tflite(model: nn.Module, path: Path) -> None:
    import litert_torch

    edge = litert_torch.convert(model.eval(), (torch.rand(1, 1, 48, 48),))
    edge.export(str(path))


TIERS = ("tiny", "balanced", "best")


def release_tier(models: list[dict], tier: str | None) -> None:
    """One classifier per tier: the others that held ``tier`` lose it."""
    for m in models:
        if tier and m.get("tier") == tier:
            m.pop("tier")


def release_default(models: list[dict]) -> None:
    """One default classifier: call before marking a new one."""
    for m in models:
        if m["task"] == "classifier":
            m.pop("default", None)


def upsert_catalog(entry: dict, store: CatalogStore) -> None:
    doc = store.document()
    models = [m for m in doc["models"] if m["name"] != entry["name"]]
    if entry.get("default"):
        release_default(models)
    release_tier(models, entry.get("tier"))
    models.append(entry)
    doc["models"] = models
    store.save(doc)


CROP_TEXT = {
    "box": "the detector's calibrated square around the face (FER2013 framing), eyes levelled, resized to 48x48",
    "landmarks": "the face's landmarks placed where FER2013 has them (the detector's crop.landmarks template), "
                 "resized to 48x48",
}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", choices=sorted(ARCHITECTURES), help="architecture of each plain --weights PATH")
    ap.add_argument("--weights", required=True, action="append", metavar="[ARCH=]PATH", help="repeat for an ensemble")
    ap.add_argument("--name", required=True)
    ap.add_argument("--summary", type=Path,
                    help="the training summary (train_classifier's summary.txt): kept beside the files, and its "
                         "--extra sets go into the entry's dataset and license")
    ap.add_argument("--default", action="store_true")
    ap.add_argument("--tier", choices=TIERS, help="the zoo tier this model fills (docs/models.md checks its targets)")
    ap.add_argument("--no-tflite", action="store_true")
    ap.add_argument("--flip", action="store_true", help="average with the mirrored face (test-time augmentation)")
    ap.add_argument("--crop-alignment", choices=tuple(CROP_TEXT), default="box",
                    help="the crop the network was trained on (train_classifier's summary says which, for --extra "
                         "photo crops); the pipeline cuts faces that way for it")
    ap.add_argument("--compressed-from", help="the catalog model this one was made from (pruned variants)")
    ap.add_argument("--compression", help="how it was made from --compressed-from")
    ap.add_argument("--provenance", help="the commands that made the weights (default: train_classifier)")
    a = ap.parse_args(argv)

    try:
        members = [member(w, a.arch) for w in a.weights]
    except ValueError as e:
        ap.error(str(e))
    nets = [load(arch, w) for arch, w in members]
    archs = [arch for arch, _ in members]
    counts = {arch: archs.count(arch) for arch in dict.fromkeys(archs)}
    what = " + ".join(f"{n} x {arch}" for arch, n in counts.items())
    arch_text = a.arch or " and ".join(counts)
    model = WithSoftmax(nets, flip=a.flip).eval()
    store = CatalogStore()
    out = store.folder(a.name) / a.name
    out.mkdir(parents=True, exist_ok=True)
    files = []
    onnx_path = out / f"{a.name}.onnx"
    export_onnx(model, onnx_path)
    files.append({"format": "onnx", "path": f"{a.name}/{onnx_path.name}", "precision": "fp32"})
    if not a.no_tflite:
        tfl = out / f"{a.name}.tflite"
        export_tflite(model, tfl)
        files.append({"format": "tflite", "path": f"{a.name}/{tfl.name}", "precision": "fp32"})
    for f in files:
        p = store.folder(a.name) / f["path"]
        f["size_bytes"], f["sha256"] = p.stat().st_size, file_digest(p)
    extras, repeat = [], 1
    if a.summary and a.summary.exists():
        shutil.copy(a.summary, out / "training_summary.txt")
        extras, repeat = extras_in_summary(a.summary.read_text())
    entry = {
        "name": a.name, "task": "classifier",
        "description": f"{arch_text}: ResNet-9-like CNN on 48x48 grayscale faces"
                       + "".join(sorted({f" (reading their central {n.crop}x{n.crop})" for n in nets if n.crop}))
                       + ", trained on FER2013 Training by ferdesk.training"
                       + (f", mean of {len(nets)} networks ({what}) trained with different seeds" if len(nets) > 1 else "")
                       + (", averaged with the mirror image (test-time flip)." if a.flip else ".")
                       + (f" Trained also on the crops of {' and of '.join(p.name for p in extras)} (--extra)." if extras else ""),
        "architecture": archs[0] if len(nets) == 1 else f"ensemble of {what}",
        "params": sum(p.numel() for n in nets for p in n.parameters()),
        "labels": FER_LABELS, "input": INPUT_SPEC, "output": "probabilities", "test_time_flip": a.flip,
        "features": {"output": "features", "size": sum(n.feature_size for n in nets), "space": a.name,
                     "what": "pooled CNN features of the face (second output), read by temporal heads"},
        "crop": CROP_TEXT[a.crop_alignment],
        "files": files, "file": files[0]["path"], "format": "onnx", "size_bytes": files[0]["size_bytes"],
        "dataset": dataset_text(extras, repeat), "metrics": {},
        "license": license_text(extras),
        "provenance": f"{a.provenance or f'python -m ferdesk.training.train_classifier --arch {arch_text}'} then "
                      f"python -m ferdesk.training.export{f' --arch {a.arch}' if a.arch else ''} --name {a.name}{' --flip' if a.flip else ''}"
                      f"{f' --tier {a.tier}' if a.tier else ''}"
                      f"{f' --crop-alignment {a.crop_alignment}' if a.crop_alignment != 'box' else ''}",
    }
    if a.crop_alignment != "box":
        entry["crop_alignment"] = a.crop_alignment
    if a.compressed_from:
        entry.update(compressed_from=a.compressed_from, compression=a.compression or "")
    if a.default:
        entry["default"] = True
    if a.tier:
        entry["tier"] = a.tier
    upsert_catalog(entry, store)
    print(f"exported {', '.join(f['path'] for f in files)} into {store.folder(a.name)} and updated its catalog")


if __name__ == "__main__":
    main()
