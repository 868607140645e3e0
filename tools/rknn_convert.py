"""Make Rockchip NPU files (.rknn) of the bundled tiers and check them in rknn-toolkit2's simulator.

usage: tools/rknn_convert.sh [--target rk3588] [--tier tiny] [--tier balanced] [--tier best] [--calibration 300]
                            [--no-check] [--detector-only | --no-detector] [--zoo-tiers best]

Runs inside its own virtual environment (rknn-toolkit2 pins old numpy, onnx and protobuf), which
``tools/rknn_convert.sh`` makes. For each tier, from its family's FP32 ONNX file, at a fixed 1x48x48x1 input
that takes raw pixels (the NPU divides by 255): an INT8 file (w8a8, calibrated on ``--calibration`` FER2013
Training faces) added to the family's INT8 entry, and an FP16 file added to its FP16 entry, each with its
``target``. Then each file's accuracy on FER2013 PublicTest in the simulator goes into the entry's
``metrics.by_backend.rknn_simulator_TARGET`` beside the ONNX figure. BlazeFace (short range) is converted in
FP16 and compared with ONNX Runtime on frames of the demo. RKNN-Toolkit 1.x (the RK3399Pro) is not on the
registries reachable here; with it installed instead, the same calls apply (``rknn.api.RKNN``), untested.
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ferdesk.training.catalogs import CatalogStore  # noqa: E402

RAW_PIXELS = {"dtype": "uint8", "scale": 1.0, "mean": [0.0], "std": [1.0], "layout": "NHWC"}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(rknn_cls, onnx_path: Path, target: str, int8: bool, calibration: np.ndarray | None):
    r = rknn_cls(verbose=False)
    r.config(mean_values=[[0]], std_values=[[255]], target_platform=target, quantized_dtype="w8a8")
    if r.load_onnx(model=str(onnx_path), inputs=["input"], input_size_list=[[1, 1, 48, 48]]) != 0:
        raise SystemExit(f"rknn-toolkit2 cannot load {onnx_path}")
    dataset = None
    if int8:
        folder = Path(tempfile.mkdtemp(prefix="rknn-calibration-"))
        dataset = folder / "faces.txt"
        lines = []
        for i, face in enumerate(calibration):
            p = folder / f"{i}.npy"
            np.save(p, face.reshape(1, 48, 48).astype(np.uint8))   # NCHW less the batch, as rknn reads .npy
            lines.append(str(p))
        dataset.write_text("\n".join(lines) + "\n")
    if r.build(do_quantization=int8, dataset=str(dataset) if dataset else None) != 0:
        raise SystemExit(f"rknn-toolkit2 cannot build {onnx_path} for {target}")
    return r


def simulate(r, images: np.ndarray, labels: np.ndarray) -> float:
    if r.init_runtime() != 0:
        raise SystemExit("the rknn-toolkit2 simulator does not start")
    right = 0
    for face, label in zip(images, labels):
        out = r.inference(inputs=[face.reshape(1, 48, 48, 1).astype(np.uint8)], data_format="nhwc")
        probs = next(o for o in out if np.asarray(o).reshape(-1).size == 7)
        right += int(np.argmax(np.asarray(probs).reshape(-1)) == label)
    return right / len(labels)


def convert_detector(rknn_cls, store, entries: dict, target: str, check: bool) -> str:
    """BlazeFace (short range) in FP16 for ``target``, added to the entries that use its file; checked
    against ONNX Runtime on 30 frames of the demo: the same faces, boxes compared by IoU."""
    import copy

    entry = entries["blazeface"]
    src = store.folder("blazeface") / next(f["path"] for f in entry["files"] if f["format"] == "onnx")
    r = rknn_cls(verbose=False)
    r.config(mean_values=[[127.5] * 3], std_values=[[127.5] * 3], target_platform=target)
    if r.load_onnx(model=str(src), inputs=["input"], input_size_list=[[1, 3, 128, 128]]) != 0 or r.build(do_quantization=False) != 0:
        raise SystemExit(f"rknn-toolkit2 cannot convert {src} for {target}")
    rel = f"blazeface/face_detection_short_range-{target}-fp16.rknn"
    out = store.folder("blazeface") / rel
    if r.export_rknn(str(out)) != 0:
        raise SystemExit(f"cannot write {out}")
    file = {"format": "rknn", "path": rel, "size_bytes": out.stat().st_size, "sha256": sha256(out), "precision": "fp16",
            "target": target, "layout": "NHWC", "input": {**RAW_PIXELS, "mean": [0.0] * 3, "std": [1.0] * 3}}
    for name in ("blazeface", "blazeface-tiled"):
        e = entries[name]
        e["files"] = [f for f in e["files"] if not (f["format"] == "rknn" and f.get("target") == target)] + [file]
    note = f"blazeface for {target}: {out.stat().st_size:,} bytes"
    if not check:
        return note
    import cv2

    from ferdesk.catalog import Catalog, InputSpec
    from ferdesk.detectors import load_detector
    from ferdesk.sources.demo import DEMO_IMAGE, render_demo_frame
    from ferdesk.tracking import iou_matrix

    if r.init_runtime() != 0:
        raise SystemExit("the rknn-toolkit2 simulator does not start")

    class Simulated:                      # the simulator in the place of the detector's engine
        def run(self, x):
            return [np.asarray(o, np.float32) for o in r.inference(inputs=[np.clip(np.rint(x), 0, 255).astype(np.uint8)],
                                                                   data_format="nhwc")]

    onnx_det = load_detector("blazeface", Catalog.load(), backend="onnxruntime", threads=1)
    npu_det = copy.copy(onnx_det)
    npu_det.engine = Simulated()
    npu_det.input = InputSpec.from_dict({**{k: getattr(onnx_det.input, k) for k in onnx_det.input.__dataclass_fields__},
                                         **file["input"]})
    photo = cv2.imread(str(DEMO_IMAGE))
    same = frames = 0
    ious = []
    for k in range(30):
        frame = render_demo_frame(photo, k * 0.2)
        onnx_det.reset()
        npu_det.reset()
        a = [(f.cx - f.w / 2, f.cy - f.h / 2, f.w, f.h) for f in onnx_det.detect_raw(frame)]
        b = [(f.cx - f.w / 2, f.cy - f.h / 2, f.w, f.h) for f in npu_det.detect_raw(frame)]
        frames += 1
        same += len(a) == len(b)
        if a and b:
            ious.extend(iou_matrix(a, b).max(axis=1).tolist())
    r.release()
    check_result = {"frames": frames, "same_face_count": same, "mean_iou": round(float(np.mean(ious)), 4) if ious else None,
                    "min_iou": round(float(np.min(ious)), 4) if ious else None,
                    "command": f"tools/rknn_convert.sh --target {target} --detector-only"}
    for name in ("blazeface", "blazeface-tiled"):
        entries[name].setdefault("metrics", {})[f"rknn_simulator_{target}"] = check_result
    return note + (f"; simulator against ONNX Runtime on {frames} demo frames: the same number of faces on {same}, "
                   f"box IoU mean {check_result['mean_iou']}, min {check_result['min_iou']}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", action="append", help="rk3588 (default), rk3566, rk3576 (repeatable)")
    ap.add_argument("--tier", action="append", choices=("tiny", "balanced", "best"), help="default: tiny and balanced")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--calibration", type=int, default=300)
    ap.add_argument("--no-check", action="store_true", help="convert only, without the simulator's accuracy")
    ap.add_argument("--detector-only", action="store_true", help="only BlazeFace")
    ap.add_argument("--no-detector", action="store_true", help="not BlazeFace")
    ap.add_argument("--zoo-tiers", nargs="*", default=["best"],
                    help="tiers whose files go to entries of their own in the zoo pack, NAME-TARGET-PRECISION "
                         "(default: best, whose files would take the wheel past 40 MB)")
    a = ap.parse_args(argv)
    from rknn.api import RKNN

    targets = a.target or ["rk3588"]
    store = CatalogStore(zoo=ROOT / "models" / "catalog.json")
    doc = store.document()
    entries = {m["name"]: m for m in doc["models"]}
    tiers = {m["tier"]: m for m in doc["models"] if m.get("tier")}
    train = np.load(a.data / "fer2013_training.npz")["images"]
    rng = np.random.default_rng(0)
    calibration = train[rng.choice(len(train), a.calibration, replace=False)]
    test = np.load(a.data / "fer2013_publictest.npz")
    if not a.no_detector:
        for target in targets:
            print(convert_detector(RKNN, store, entries, target, not a.no_check), flush=True)
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
                r = build(RKNN, onnx_path, target, precision == "int8", calibration)
                rel = f"{family}/{family}-{target}-{precision}.rknn"
                out = store.folder(name) / rel
                out.parent.mkdir(parents=True, exist_ok=True)
                if r.export_rknn(str(out)) != 0:
                    raise SystemExit(f"cannot write {out}")
                files = [f for f in entry["files"] if not (f["format"] == "rknn" and f.get("target") == target)]
                files.append({"format": "rknn", "path": rel, "size_bytes": out.stat().st_size, "sha256": sha256(out),
                              "precision": precision, "target": target, "layout": "NHWC", "input": RAW_PIXELS})
                entry["files"] = files
                if tier in a.zoo_tiers:
                    entry.update(file=rel, format="rknn", size_bytes=files[0]["size_bytes"])
                note = f"{name} for {target}: {out.stat().st_size:,} bytes in {time.time() - t0:.0f} s"
                if not a.no_check:
                    acc = simulate(r, test["images"], test["labels"])
                    onnx_acc = (entries[f"{family}-{precision}"].get("metrics") or {}).get("fer2013_publictest_accuracy")
                    fp32_acc = (fp32.get("metrics") or {}).get("fer2013_publictest_accuracy")
                    entry.setdefault("metrics", {}).setdefault("by_backend", {})[f"rknn_simulator_{target}"] = {
                        "accuracy": round(acc, 4), "n": int(len(test["labels"])), "target": target,
                        "fp32_onnx_accuracy": fp32_acc,
                        "command": f"tools/rknn_convert.sh --target {target} --tier {tier}"}
                    note += (f"; simulator PublicTest {acc:.2%} (ONNX {onnx_acc:.2%}, FP32 {fp32_acc:.2%}, "
                             f"{(acc - fp32_acc) * 100:+.2f} points)")
                r.release()
                print(note, flush=True)
    store.save(doc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
