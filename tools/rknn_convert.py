"""Make Rockchip NPU files (.rknn) of the bundled tiers and of BlazeFace, and check them in the toolkit's simulator.

usage: tools/rknn_convert.sh [--target rk3588] [--tier tiny] [--tier balanced] [--tier best] [--calibration 300]
                            [--no-check] [--detector-only | --no-detector] [--zoo-tiers best] [--python PYTHON]

Runs in ferdesk's own environment (the catalog, the data, the checks); the toolkit's part runs in the
toolkit's Python, ``tools/rknn_worker.py``, one job per file (``--python``, default ``build/rknn-venv/bin/python``,
which ``tools/rknn_convert.sh`` makes for rknn-toolkit2). rknn-toolkit2 converts for the RK3588, RK3566 and
RK3576; RKNN-Toolkit 1.x, in a Python 3.6/3.8 environment of its own, for the RK3399Pro (``--target rk3399pro
--python ~/rknn1/bin/python``): the worker finds which toolkit it has and uses that generation's options.

For each tier, from its family's FP32 ONNX file, at a fixed 1x48x48x1 input that takes raw pixels (the NPU
divides by 255): an INT8 file (calibrated on ``--calibration`` FER2013 Training faces) added to the family's
INT8 entry, and an FP16 file added to its FP16 entry, each with its ``target``. Then each file's accuracy on
FER2013 PublicTest in the simulator goes into the entry's ``metrics.by_backend.rknn_simulator_TARGET`` beside
the ONNX figure. BlazeFace (short range), in FP16 and in INT8 (calibrated on real photographs), is compared
with ONNX Runtime on frames of the demo and on real photographs: the same faces, boxes by IoU.
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ferdesk.training.catalogs import CatalogStore  # noqa: E402

RAW_PIXELS = {"dtype": "uint8", "scale": 1.0, "mean": [0.0], "std": [1.0], "layout": "NHWC"}
WORKER = ROOT / "tools" / "rknn_worker.py"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Toolkit:
    """The toolkit's Python, driven one job at a time through tools/rknn_worker.py."""

    def __init__(self, python: Path):
        if not Path(python).exists():
            raise SystemExit(f"no toolkit Python at {python}: run tools/rknn_convert.sh, or give --python")
        self.python = str(python)
        self.info = json.loads(self._call(["--probe"]))
        self.folder = Path(tempfile.mkdtemp(prefix="rknn-jobs-"))
        self._jobs = 0

    def _call(self, args: list[str]) -> str:
        done = subprocess.run([self.python, str(WORKER), *args], capture_output=True, text=True)
        if done.returncode != 0:
            lines = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()
            raise SystemExit(f"rknn worker failed: {lines[-1]}")
        return done.stdout.strip().splitlines()[-1]

    def check_target(self, target: str) -> None:
        if target not in self.info["targets"]:
            need = "RKNN-Toolkit 1.x (Python 3.6/3.8; docs/boards.md)" if target in ("rk3399pro", "rk1808") else "rknn-toolkit2"
            raise SystemExit(f"target {target} needs {need}; {self.info['toolkit']} {self.info['version']} converts for "
                             f"{', '.join(self.info['targets'])}")

    def build(self, onnx: Path, out: Path, target: str, int8: bool, input_size: list[int], mean: list[float],
              std: list[float], dataset: Path | None = None, infer: list[np.ndarray] = (),
              algorithm: str | None = None) -> tuple[dict, list[dict]]:
        """Convert ``onnx`` to ``out``; run each input batch (N, H, W, C uint8) through the simulator and return
        its outputs (out0, out1, ...)."""
        self._jobs += 1
        tag = self.folder / f"job{self._jobs}"
        items = []
        for k, x in enumerate(infer):
            np.save(f"{tag}-in{k}.npy", np.ascontiguousarray(x, np.uint8))
            items.append({"inputs": f"{tag}-in{k}.npy", "outputs": f"{tag}-out{k}.npz"})
        job = {"onnx": str(onnx), "output": str(out), "target": target, "int8": int8, "input_size": input_size,
               "mean": mean, "std": std, "dataset": str(dataset) if dataset else None, "infer": items,
               **({"algorithm": algorithm} if algorithm else {})}
        Path(f"{tag}.json").write_text(json.dumps(job))
        out.parent.mkdir(parents=True, exist_ok=True)
        result = json.loads(self._call([f"{tag}.json"]))
        outputs = []
        for item in items:
            with np.load(item["outputs"]) as z:
                outputs.append({k: z[k] for k in z.files})
        return result, outputs


def dataset_list(folder: Path, arrays: np.ndarray, suffix: str) -> Path:
    """A calibration list the toolkit reads: one .npy per gray face (C, H, W less the batch), or one image per
    colour frame (.png, which the toolkit reads as RGB)."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for i, a in enumerate(arrays):
        p = folder / f"{i}{suffix}"
        if suffix == ".npy":
            np.save(p, a.reshape(1, *a.shape[:2]).astype(np.uint8))
        else:
            cv2.imwrite(str(p), cv2.cvtColor(a, cv2.COLOR_RGB2BGR))
        lines.append(str(p))
    (folder / "list.txt").write_text("\n".join(lines) + "\n")
    return folder / "list.txt"


def detector_frames(data: Path, n_photos: int, seed: int = 1) -> tuple[list, list]:
    """Frames for BlazeFace: (calibration, check). Calibration: real photographs from realfaces (the
    training part); check: 30 frames of the demo and other realfaces photographs."""
    import cv2

    from ferdesk.sources.demo import DEMO_IMAGE, render_demo_frame

    photos = sorted((data / "realfaces").rglob("*.jpg"))
    rng = np.random.default_rng(seed)
    picked = [photos[i] for i in rng.choice(len(photos), min(len(photos), 2 * n_photos), replace=False)] if photos else []
    calibration = [cv2.imread(str(p)) for p in picked[:n_photos]]
    demo = cv2.imread(str(DEMO_IMAGE))
    check = [render_demo_frame(demo, k * 0.2) for k in range(30)] + [cv2.imread(str(p)) for p in picked[n_photos:]]
    return [f for f in calibration if f is not None], [f for f in check if f is not None]


#: output ranges kept for BlazeFace's INT8 file: one INT8 scale per output cannot hold both the background
#: logits (down to -900) and the faces' (about -5 to +5), nor the box offsets' far outliers; a score below
#: -16 (sigmoid 1e-7) or an offset beyond two frames is the same answer to the detector.
DETECTOR_ALGORITHM = "mmse"
DETECTOR_MIN_IOU = 0.95
DETECTOR_CLIPS = {"classificators": (-16.0, 16.0), "regressors": (-256.0, 256.0)}


def clipped_outputs(src: Path, clips: dict, out: Path) -> Path:
    """A copy of ``src`` whose named outputs pass through Clip(lo, hi), so that quantisation sees their
    useful range."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(src))
    g = model.graph
    for o in g.output:
        if o.name not in clips:
            continue
        lo, hi = clips[o.name]
        raw = o.name + "_unclipped"
        for node in g.node:
            node.output[:] = [raw if n == o.name else n for n in node.output]
            node.input[:] = [raw if n == o.name else n for n in node.input]
        g.initializer.extend([numpy_helper.from_array(np.array(lo, np.float32), raw + "_lo"),
                              numpy_helper.from_array(np.array(hi, np.float32), raw + "_hi")])
        g.node.append(helper.make_node("Clip", [raw, raw + "_lo", raw + "_hi"], [o.name]))
    onnx.checker.check_model(model)
    onnx.save(model, str(out))
    return out


def convert_detector(tk: Toolkit, store, entries: dict, target: str, precision: str, data: Path, check: bool) -> str:
    """BlazeFace (short range) for ``target`` in ``precision``, added to the entries that use its file; checked
    against ONNX Runtime: the same faces on each check frame, boxes compared by IoU."""
    from ferdesk.catalog import Catalog, InputSpec
    from ferdesk.detectors import load_detector
    from ferdesk.tracking import iou_matrix

    entry = entries["blazeface"]
    src = store.folder("blazeface") / next(f["path"] for f in entry["files"] if f["format"] == "onnx")
    onnx_det = load_detector("blazeface", Catalog.load(), backend="onnxruntime", threads=1)
    calibration, frames = detector_frames(data, 100)
    letterboxed = lambda frame: onnx_det._letterbox(frame)[0]   # noqa: E731  the detector's own 128x128 RGB input
    dataset = dataset_list(tk.folder / f"blazeface-{target}", [letterboxed(f) for f in calibration], ".png") \
        if precision == "int8" else None
    rel = f"blazeface/face_detection_short_range-{target}-{precision}.rknn"
    out = store.folder("blazeface") / rel
    inputs = np.stack([letterboxed(f) for f in frames]) if check else None
    t0 = time.time()
    if precision == "int8":
        src = clipped_outputs(src, DETECTOR_CLIPS, tk.folder / f"blazeface-{target}-clipped.onnx")
    result, outputs = tk.build(src, out, target, precision == "int8", [1, 3, 128, 128], [127.5] * 3, [127.5] * 3,
                               dataset, [inputs] if check else [], DETECTOR_ALGORITHM if precision == "int8" else None)
    file = {"format": "rknn", "path": rel, "size_bytes": out.stat().st_size, "sha256": sha256(out), "precision": precision,
            "target": target, "layout": "NHWC", "input": {**RAW_PIXELS, "mean": [0.0] * 3, "std": [1.0] * 3}}
    for name in ("blazeface", "blazeface-tiled"):
        e = entries[name]
        keep = [f for f in e["files"] if not (f["format"] == "rknn" and f.get("target") == target and f.get("precision") == precision)]
        e["files"] = keep + [file]
    note = f"blazeface {precision} for {target}: {out.stat().st_size:,} bytes in {time.time() - t0:.0f} s ({result['toolkit']} {result['version']})"
    if not check:
        return note
    replies = outputs[0]
    order = sorted(replies, key=lambda k: int(k[3:]))

    class Replay:                     # the simulator's answers in the place of the detector's engine
        k = 0

        def run(self, x):
            return [replies[name][self.k:self.k + 1] for name in order]

    npu_det = copy.copy(onnx_det)
    npu_det.engine = Replay()
    npu_det.input = InputSpec.from_dict({**{k: getattr(onnx_det.input, k) for k in onnx_det.input.__dataclass_fields__},
                                         **file["input"]})
    same = 0
    ious = []
    for k, frame in enumerate(frames):
        npu_det.engine.k = k
        a = [(f.cx - f.w / 2, f.cy - f.h / 2, f.w, f.h) for f in onnx_det._run(frame, onnx_det.min_score)]
        b = [(f.cx - f.w / 2, f.cy - f.h / 2, f.w, f.h) for f in npu_det._run(frame, onnx_det.min_score)]
        same += len(a) == len(b)
        if a and b:
            ious.extend(iou_matrix(a, b).max(axis=1).tolist())
    check_result = {"frames": len(frames), "same_face_count": same, "precision": precision,
                    "mean_iou": round(float(np.mean(ious)), 4) if ious else None,
                    "min_iou": round(float(np.min(ious)), 4) if ious else None,
                    "on": "30 demo frames and real photographs from realfaces, the detector's full-frame pass",
                    "command": f"tools/rknn_convert.sh --target {target} --detector-only"}
    good = same >= 0.95 * len(frames) and (check_result["mean_iou"] or 0) >= DETECTOR_MIN_IOU
    check_result["shipped"] = good
    for name in ("blazeface", "blazeface-tiled"):
        m = entries[name].setdefault("metrics", {})
        m[f"rknn_simulator_{target}" + ("" if precision == "fp16" else f"_{precision}")] = check_result
        if not good:      # boxes that far from ONNX Runtime's would move every crop: not shipped
            entries[name]["files"] = [f for f in entries[name]["files"] if f.get("path") != rel]
    if not good:
        out.unlink()
        note += f"; NOT SHIPPED (needs the same faces on 95% of frames and mean IoU >= {DETECTOR_MIN_IOU})"
    return note + (f"; simulator against ONNX Runtime on {len(frames)} frames: the same number of faces on {same}, "
                   f"box IoU mean {check_result['mean_iou']}, min {check_result['min_iou']}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", action="append",
                    help="rk3588 (default), rk3566, rk3576 with rknn-toolkit2; rk3399pro with RKNN-Toolkit 1.x (repeatable)")
    ap.add_argument("--tier", action="append", choices=("tiny", "balanced", "best"), help="default: tiny and balanced")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--calibration", type=int, default=300)
    ap.add_argument("--no-check", action="store_true", help="convert only, without the simulator's accuracy")
    ap.add_argument("--detector-only", action="store_true", help="only BlazeFace")
    ap.add_argument("--no-detector", action="store_true", help="not BlazeFace")
    ap.add_argument("--detector-precision", nargs="+", default=["fp16", "int8"], choices=("fp16", "int8"))
    ap.add_argument("--zoo-tiers", nargs="*", default=["best"],
                    help="tiers whose files go to entries of their own in the zoo pack, NAME-TARGET-PRECISION "
                         "(default: best, whose files would take the wheel past 40 MB)")
    ap.add_argument("--python", type=Path, default=ROOT / "build" / "rknn-venv" / "bin" / "python",
                    help="the Python that has the RKNN toolkit (default: build/rknn-venv, made by tools/rknn_convert.sh)")
    a = ap.parse_args(argv)
    tk = Toolkit(a.python)
    targets = a.target or ["rk3588"]
    for target in targets:
        tk.check_target(target)
    print(f"{tk.info['toolkit']} {tk.info['version']} ({a.python})", flush=True)
    store = CatalogStore(zoo=ROOT / "models" / "catalog.json")
    doc = store.document()
    entries = {m["name"]: m for m in doc["models"]}
    tiers = {m["tier"]: m for m in doc["models"] if m.get("tier")}
    train = np.load(a.data / "fer2013_training.npz")["images"]
    rng = np.random.default_rng(0)
    faces = dataset_list(tk.folder / "faces", train[rng.choice(len(train), a.calibration, replace=False)], ".npy")
    test = np.load(a.data / "fer2013_publictest.npz")
    if not a.no_detector:
        for target in targets:
            for precision in a.detector_precision:
                print(convert_detector(tk, store, entries, target, precision, a.data, not a.no_check), flush=True)
                store.save(doc)
    for tier in ([] if a.detector_only else a.tier or ["tiny", "balanced"]):
        family = tiers[tier].get("compressed_from") or tiers[tier]["name"]
        fp32 = entries[family]
        onnx_path = store.folder(family) / next(f["path"] for f in fp32["files"] if f["format"] == "onnx")
        for target in targets:
            for precision in ("int8", "fp16"):
                name = f"{family}-{precision}"
                entry = entries.get(name)
                if entry is None:
                    print(f"{tier}: no catalog entry {name}; skipped")
                    continue
                if tier in a.zoo_tiers:
                    # an entry of its own in the zoo pack (the files would take the wheel past 40 MB)
                    name = f"{family}-{target}-{precision}"
                    base = entry
                    entry = entries.get(name) or {**copy.deepcopy(base), "name": name, "metrics": {}}
                    entry.pop("tier", None)
                    entry.pop("default", None)
                    entry.update(compressed_from=family, files=[],
                                 description=base["description"] + f" Compiled for the {target} NPU by tools/rknn_convert.sh.")
                    if name not in entries:
                        doc["models"].append(entry)
                        entries[name] = entry
                t0 = time.time()
                rel = f"{family}/{family}-{target}-{precision}.rknn"
                out = store.folder(name) / rel
                infer = [test["images"][..., None]] if not a.no_check else []
                result, outputs = tk.build(onnx_path, out, target, precision == "int8", [1, 1, 48, 48], [0.0], [255.0],
                                           faces if precision == "int8" else None, infer)
                files = [f for f in entry["files"] if not (f["format"] == "rknn" and f.get("target") == target)]
                files.append({"format": "rknn", "path": rel, "size_bytes": out.stat().st_size, "sha256": sha256(out),
                              "precision": precision, "target": target, "layout": "NHWC", "input": RAW_PIXELS})
                entry["files"] = files
                if tier in a.zoo_tiers:
                    entry.update(file=rel, format="rknn", size_bytes=files[0]["size_bytes"])
                note = f"{name} for {target}: {out.stat().st_size:,} bytes in {time.time() - t0:.0f} s ({result['toolkit']} {result['version']})"
                if not a.no_check:
                    probs = next(v for v in outputs[0].values() if v.shape[-1] == 7)
                    acc = float(np.mean(probs.reshape(len(probs), -1).argmax(1) == test["labels"]))
                    onnx_acc = (entries[f"{family}-{precision}"].get("metrics") or {}).get("fer2013_publictest_accuracy")
                    fp32_acc = (fp32.get("metrics") or {}).get("fer2013_publictest_accuracy")
                    entry.setdefault("metrics", {}).setdefault("by_backend", {})[f"rknn_simulator_{target}"] = {
                        "accuracy": round(acc, 4), "n": int(len(test["labels"])), "target": target,
                        "fp32_onnx_accuracy": fp32_acc, "toolkit": f"{result['toolkit']} {result['version']}",
                        "command": f"tools/rknn_convert.sh --target {target} --tier {tier}"}
                    note += (f"; simulator PublicTest {acc:.2%} (ONNX {onnx_acc:.2%}, FP32 {fp32_acc:.2%}, "
                             f"{(acc - fp32_acc) * 100:+.2f} points)")
                print(note, flush=True)
                store.save(doc)
    store.save(doc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
