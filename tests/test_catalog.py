import json

import numpy as np
import pytest

from ferdesk.catalog import Catalog, check_file, file_digest
from ferdesk.errors import ModelError


def test_catalog_lists_every_task_with_a_default_classifier_and_detector():
    cat = Catalog.load()
    assert cat.default("classifier").task == "classifier"
    assert cat.default("detector").name == "blazeface"


def test_every_catalog_file_matches_its_size_and_checksum():
    for m in Catalog.load().models:
        for f in m.files:
            assert f.path.exists(), f.path
            assert f.path.stat().st_size == f.size_bytes, f.path
            assert file_digest(f.path) == f.sha256, f.path


def test_classifier_entries_carry_what_an_outside_script_needs():
    for m in Catalog.load().by_task("classifier"):
        raw = m.raw
        for key in ("name", "task", "labels", "input", "file", "format", "size_bytes", "license", "provenance", "dataset"):
            assert key in raw, (m.name, key)
        assert raw["format"] == "onnx" and raw["file"].endswith(".onnx")
        spec = raw["input"]
        assert {"width", "height", "channels", "colour", "layout", "dtype", "scale", "mean", "std"} <= set(spec)


def test_an_outside_script_runs_every_classifier_with_onnxruntime_alone():
    """Follow the README's recipe: read the catalog JSON, build the tensor, run onnxruntime."""
    import onnxruntime as ort

    from ferdesk.catalog import CATALOG_PATH

    doc = json.loads(CATALOG_PATH.read_text())
    face = np.random.default_rng(0).integers(0, 256, (48, 48), dtype=np.uint8)
    for m in (m for m in doc["models"] if m["task"] == "classifier"):
        s = m["input"]
        x = face.astype(np.float32)[None, None] * s["scale"]
        x = (x - np.array(s["mean"], np.float32).reshape(1, -1, 1, 1)) / np.array(s["std"], np.float32).reshape(1, -1, 1, 1)
        sess = ort.InferenceSession(str(CATALOG_PATH.parent / m["file"]))
        probs = sess.run(None, {sess.get_inputs()[0].name: x.astype(s["dtype"])})[0]
        assert probs.shape == (1, len(m["labels"]))
        assert abs(float(probs.sum()) - 1) < 1e-3


def test_corrupt_model_file_is_named(catalog_copy):
    cat = Catalog.load(catalog_copy)
    mf = cat.default("classifier").primary
    mf.path.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="corrupt"):
        check_file(mf)


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(ModelError, match="unknown model 'nope'.*known"):
        Catalog.load().get("nope")
