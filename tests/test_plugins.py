"""Contract tests: every registered source, detector and engine keeps its interface."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import DEMO_IMAGE
from ferdesk.catalog import Catalog
from ferdesk.detectors import Detector, detectors, load_detector
from ferdesk.engines import Engine, engines
from ferdesk.errors import FerdeskError, SourceError
from ferdesk.sources import Source, make_source, sources
from ferdesk.types import Frame

CATALOG = Catalog.load()


# -- sources -------------------------------------------------------------------------------
def _source_target(name: str, tmp_path, clip) -> str | None:
    if name == "video":
        return str(clip)
    if name == "images":
        folder = tmp_path / "imgs"
        folder.mkdir()
        for i in range(3):
            cv2.imwrite(str(folder / f"{i:03d}.png"), cv2.imread(str(DEMO_IMAGE)))
        return str(folder)
    if name == "demo":
        return "demo"
    return None  # cameras: none on CI machines


@pytest.mark.parametrize("name", sources.names())
def test_source_contract(name, tmp_path, clip):
    cls = sources.get(name)
    ok, why = cls.availability()
    assert isinstance(ok, bool) and isinstance(why, str)
    assert isinstance(cls.discover(), list)
    target = _source_target(name, tmp_path, clip)
    if target is None:
        with pytest.raises(SourceError, match="no camera at index 97"):
            make_source("camera:97").open()
        return
    src = make_source(target)
    assert isinstance(src, Source) and src.name == name
    with src:
        frames = [src.read() for _ in range(3)]
    assert all(isinstance(f, Frame) for f in frames)
    assert [f.index for f in frames] == sorted({f.index for f in frames})
    assert frames[0].image.dtype == np.uint8 and frames[0].image.ndim == 3
    assert frames[1].time_s >= frames[0].time_s


def test_file_source_yields_every_frame_in_order(clip):
    with make_source(str(clip)) as src:
        indices = []
        while (f := src.read()) is not None:
            indices.append(f.index)
    assert indices == list(range(24)) and src.dropped == 0


def test_live_source_keeps_only_the_newest_frame():
    with make_source("demo") as src:
        first = src.read()
        import time

        time.sleep(0.2)  # ~6 frames pass while the consumer is busy
        second = src.read()
    assert second.index - first.index >= 5
    assert src.dropped >= 4


def test_default_source_falls_back_to_demo_without_cameras(monkeypatch):
    monkeypatch.setattr(sources.get("camera"), "discover", classmethod(lambda cls: []))
    assert make_source("default").name == "demo"


# -- detectors ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", detectors.names())
def test_detector_contract(name):
    cls = detectors.get(name)
    ok, why = cls.availability()
    assert isinstance(ok, bool) and (ok or why), "an unavailable detector must say why"
    spec = CATALOG.get(name)
    assert spec.task == "detector" and "crop" in spec.raw
    if not ok:
        with pytest.raises(FerdeskError, match=name):
            load_detector(name, CATALOG)
        return
    det = load_detector(name, CATALOG)
    assert isinstance(det, Detector)
    photo = cv2.imread(str(DEMO_IMAGE))
    frame = np.full((480, 640, 3), 90, np.uint8)
    frame[:, 80:560] = cv2.resize(photo, (480, 480))  # face about 100 px, as at a webcam
    found = det.detect(frame)
    assert len(found) >= 1, f"{name} found no face in the demo portrait"
    x, y, w, h = max(found, key=lambda d: d.score).box
    # the portrait's face sits in the upper middle of the photo
    assert 200 < x + w / 2 < 440 and 60 < y + h / 2 < 300
    assert det.detect(np.full((480, 640, 3), 90, np.uint8)) == []


# -- engines -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", engines.names())
def test_engine_contract(name, monkeypatch):
    cls = engines.get(name)
    ok, why = cls.availability()
    assert isinstance(ok, bool) and (ok or why)
    spec = CATALOG.default("classifier")
    if not ok and name == "rknn":
        # no NPU runtime off the board: the fake one stands in (the reason above is the contract for the real one)
        fake_rknnlite(monkeypatch, [], spec.get("features")["size"])
    elif not ok:
        pytest.skip(f"{name} not installed here: {why}")  # the reason itself is the contract checked above
    mf = next(spec.file_for(f) for f in cls.formats if spec.file_for(f))
    eng = cls(mf.path, threads=1)
    assert isinstance(eng, Engine)
    eng.warmup()
    x = spec.input_for(mf).to_tensor(np.zeros((3, 48, 48), np.uint8))
    outs = eng.run(x)
    assert outs[0].shape == (3, len(spec.labels))  # probabilities first; a features output may follow
    if spec.get("features"):
        assert len(outs) == 2 and outs[1].shape == (3, spec.get("features")["size"])
    info = eng.describe()
    assert {"backend", "provider", "threads"} <= set(info) and info["threads"] == 1


def test_backends_agree_on_an_fp32_classifier():
    """ONNX and TFLite files exported from one FP32 graph give the same probabilities.
    (INT8 files are quantised separately per backend: their agreement is measured by
    tools/measure_models.py on PublicTest, not here.)"""
    from ferdesk.classifier import Classifier

    if not engines.get("litert").availability()[0]:
        pytest.skip("litert not installed")
    spec = next(m for m in CATALOG.by_task("classifier")
                if {f.format for f in m.files} >= {"onnx", "tflite"} and all(f.precision == "fp32" for f in m.files))
    faces = np.random.default_rng(1).integers(0, 256, (4, 48, 48), dtype=np.uint8)
    a, fa = Classifier(spec, "onnxruntime").classify_with_features(faces)
    b, fb = Classifier(spec, "litert").classify_with_features(faces)
    assert np.abs(a - b).max() < 1e-3
    assert (fa is None) == (fb is None) and (fa is None or np.abs(fa - fb).max() < 1e-3)


def test_tensorrt_gets_an_engine_cache_and_fp16_and_only_the_files_it_accepts(tmp_path, monkeypatch):
    """Without a GPU: ONNX Runtime is told it has TensorRT and CUDA, and the session's arguments are read."""
    import onnxruntime as ort

    from ferdesk.engines import onnxruntime_engine as engine

    monkeypatch.setenv("FERDESK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(ort, "get_available_providers",
                        lambda: ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setattr(engine, "provider_problems", lambda: {})        # as on a machine with CUDA and TensorRT
    seen = {}
    real_session = ort.InferenceSession

    def recording_session(path, opts, providers):
        seen["providers"] = providers
        return real_session(path, opts, providers=["CPUExecutionProvider"])

    monkeypatch.setattr(ort, "InferenceSession", recording_session)
    tiers = CATALOG.tiers()
    fp16 = CATALOG.get(tiers["balanced"].name.replace("-int8", "-fp16"))
    engine.OnnxRuntimeEngine(fp16.primary.path, threads=1, precision=fp16.primary.precision)
    (trt, trt_opts), (cuda, cuda_opts), cpu = seen["providers"]
    assert (trt, cuda, cpu) == ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
    assert trt_opts["trt_engine_cache_enable"] == "True" and trt_opts["trt_fp16_enable"] == "True"
    assert trt_opts["trt_engine_cache_path"] == str(tmp_path / "cache" / "tensorrt") and (tmp_path / "cache" / "tensorrt").is_dir()
    assert cuda_opts["cudnn_conv_algo_search"] == "HEURISTIC"
    for name in (tiers["balanced"].name, tiers["tiny"].name):          # INT8 (UINT8 activations), INT4 (opset 21)
        spec = CATALOG.get(name)
        engine.OnnxRuntimeEngine(spec.primary.path, threads=1, precision=spec.primary.precision)
        assert [p[0] if isinstance(p, tuple) else p for p in seen["providers"]] == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    # every tier has a file TensorRT takes
    for spec in tiers.values():
        family = CATALOG.family(spec)
        assert any(m.primary.precision in ("fp16", "fp32") for m in CATALOG.by_task("classifier") if CATALOG.family(m) == family)

    # an onnxruntime-gpu build on a machine without the CUDA libraries: the CPU only, asked for quietly
    monkeypatch.setattr(engine, "provider_problems", lambda: {"CUDAExecutionProvider": "libcublasLt.so.13: cannot open",
                                                               "TensorrtExecutionProvider": "libcublas.so.13: cannot open"})
    engine.OnnxRuntimeEngine(fp16.primary.path, threads=1, precision=fp16.primary.precision)
    assert seen["providers"] == ["CPUExecutionProvider"]


def fake_rknnlite(monkeypatch, seen: list, feature_size: int):
    """Install a fake ``rknnlite.api`` (the board runtime) that records what it is fed."""
    import sys
    import types

    class RKNNLite:
        def __init__(self, verbose=False):
            pass

        def load_rknn(self, path):
            seen.append(("load", path))
            return 0

        def init_runtime(self, *args, **kwargs):
            return 0

        def inference(self, inputs, data_format):
            x = inputs[0]
            seen.append(("inference", x.shape, x.dtype, data_format, int(x[0, 0, 0, 0])))
            probs = np.full((1, 7), 0.02, np.float32)
            probs[0, 3] = 0.88
            return [probs, np.ones((1, feature_size), np.float32)]

        def release(self):
            pass

    api = types.ModuleType("rknnlite.api")
    api.RKNNLite = RKNNLite
    monkeypatch.setitem(sys.modules, "rknnlite", types.ModuleType("rknnlite"))
    monkeypatch.setitem(sys.modules, "rknnlite.api", api)


def test_the_rknn_backend_is_unavailable_here_with_its_reason_and_feeds_raw_pixels_to_the_npu(monkeypatch):
    from ferdesk.classifier import Classifier
    from ferdesk.engines import engines

    ok, why = engines.get("rknn").availability()
    assert not ok and "rknn-toolkit-lite2" in why
    spec = next(m for m in CATALOG.by_task("classifier") if m.file_for("rknn"))
    rknn_file = spec.file_for("rknn")
    assert rknn_file.target and rknn_file.precision in ("int8", "fp16")
    seen: list = []
    fake_rknnlite(monkeypatch, seen, spec.get("features")["size"])
    assert engines.get("rknn").availability() == (True, "")
    clf = Classifier(spec, backend="rknn", warmup=False)
    faces = np.full((2, 48, 48), 200, np.uint8)
    faces[1, 0, 0] = 17
    probs = clf.classify(faces)
    calls = [s for s in seen if s[0] == "inference"]
    assert [c[1:4] for c in calls] == [((1, 48, 48, 1), np.uint8, "nhwc")] * 2     # one face a call, raw pixels
    assert [c[4] for c in calls] == [200, 17]
    assert probs.shape == (2, 7) and np.allclose(probs.sum(1), 1) and clf.labels[int(probs[0].argmax())] == clf.labels[3]


def test_the_rknn_backend_picks_the_file_made_for_the_boards_chip(tmp_path):
    from ferdesk.engines import engines
    from ferdesk.engines.rknn_engine import board_chip

    rknn = engines.get("rknn")
    compatible = tmp_path / "compatible"
    compatible.write_bytes(b"radxa,rock-5b\0rockchip,rk3588\0")
    assert board_chip([tmp_path / "absent", compatible]) == "rk3588"
    compatible.write_bytes(b"firefly,rk3568-roc-pc\0rockchip,rk3568\0")
    assert board_chip([compatible]) == "rk3566"          # the RK3568 has the RK3566's NPU
    compatible.write_bytes(b"raspberrypi,5-model-b\0brcm,bcm2712\0")
    assert board_chip([compatible]) is None
    spec = next(m for m in CATALOG.by_task("classifier") if m.file_for("rknn"))
    assert rknn.file_for(spec, chip="rk3588").target == "rk3588"
    assert rknn.file_for(spec, chip="rk3399pro") is None     # no file for that chip: the backend is not offered
    assert engines.get("onnxruntime").file_for(spec).format == "onnx"
