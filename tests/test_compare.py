"""A/B comparison of two classifiers on the same faces: ferdesk run --compare."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from conftest import read_json, run_cli
from ferdesk.catalog import Catalog
from ferdesk.comparison import Agreement
from ferdesk.types import FaceResult, FrameResult, SecondOpinion


def test_run_with_compare_logs_both_answers_and_summarises_their_agreement(clip, tmp_path):
    tiers = Catalog.load().tiers()
    a_model, b_model = tiers["balanced"].name, tiers["tiny"].name
    log = tmp_path / "ab"
    r = run_cli("run", "--source", str(clip), "--model", a_model, "--compare", b_model, "--log", str(log), "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    c = summary["compare"]
    assert c["a"]["model"] == a_model and c["b"]["model"] == b_model
    assert c["a"]["ms_per_face"]["p50"] > 0 and c["b"]["ms_per_face"]["p50"] > 0
    assert "compare" in summary["latency_ms"]

    with open(log / "frames.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    labels = Catalog.load().get(a_model).labels
    assert rows and len(rows) == c["faces"] == summary["faces"]
    same = 0
    confusion = np.zeros((len(labels), len(labels)), int)
    diffs = []
    for row in rows:
        pa = np.array([float(row[f"p_{k}"]) for k in labels])
        pb = np.array([float(row[f"b_p_{k}"]) for k in labels])
        assert row["b_model"] == b_model and row["b_backend"] == c["b"]["backend"]
        assert abs(pb.sum() - 1) < 0.01 and row["b_label"] == labels[int(pb.argmax())]
        assert abs(float(row["b_confidence"]) - pb.max()) < 1e-3
        same += row["label"] == row["b_label"]
        confusion[labels.index(row["label"]), labels.index(row["b_label"])] += 1
        diffs.append(np.abs(pa - pb).mean())
    assert c["agreement"] == pytest.approx(same / len(rows), abs=1e-4)
    assert c["confusion"] == confusion.tolist()
    assert c["mean_abs_prob_diff"] == pytest.approx(np.mean(diffs), abs=2e-4)
    assert read_json(log / "session.json")["compare"] == {"model": b_model, "backend": c["b"]["backend"]}


def test_two_different_models_do_not_agree_on_everything_and_the_same_model_does():
    labels = ("x", "y")
    ab = Agreement(labels)
    face = lambda pa, pb: FaceResult(1, (0, 0, 10, 10), 1.0, pa, labels[int(np.argmax(pa))], max(pa),  # noqa: E731
                                     SecondOpinion("b", "onnxruntime", pb, labels[int(np.argmax(pb))], max(pb)))
    frame = FrameResult(0, 0.0, 0.0, (10, 10), (face((0.9, 0.1), (0.2, 0.8)), face((0.6, 0.4), (0.7, 0.3))),
                        {"classify": 2.0, "compare": 4.0})
    assert ab.add(frame, "a", "onnxruntime") == (2, 1)
    s = ab.summary()
    assert s["agreement"] == 0.5 and s["confusion"] == [[1, 1], [0, 0]]
    assert s["mean_abs_prob_diff"] == pytest.approx((0.7 + 0.1) / 2)
    assert s["a"]["ms_per_face"]["p50"] == 1.0 and s["b"]["ms_per_face"]["p50"] == 2.0
    assert Agreement(labels).summary()["agreement"] is None


@pytest.mark.parametrize("args, why", [
    (["--compare", "no-such-model"], "no-such-model"),
    (["--compare-backend", "onnxruntime"], "--compare-backend needs --compare"),
])
def test_a_bad_comparison_is_refused_in_one_line(clip, args, why):
    r = run_cli("run", "--source", str(clip), "--no-log", "--max-frames", "2", *args)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert why in r.stderr.strip().splitlines()[-1]
