"""The class prior (``ferdesk.prior``): parsing, the label-shift correction, and --prior in run and eval."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from conftest import DEMO_IMAGE, read_json, run_cli
from ferdesk.catalog import Catalog
from ferdesk.errors import PriorError
from ferdesk.prior import FER2013_TRAINING_COUNTS, apply_prior, prior_weights, target_shares, valid_prior

LABELS = tuple(FER2013_TRAINING_COUNTS)


def test_named_shares_leave_the_rest_to_the_other_classes_equally():
    q = target_shares("neutral=0.4,happy=0.3", LABELS)
    assert q[LABELS.index("neutral")] == pytest.approx(0.4) and q[LABELS.index("happy")] == pytest.approx(0.3)
    assert q.sum() == pytest.approx(1.0)
    assert np.allclose(np.delete(q, [LABELS.index("neutral"), LABELS.index("happy")]), 0.3 / 5)
    assert np.allclose(target_shares("uniform", LABELS), 1 / 7)


@pytest.mark.parametrize("text, why", [
    ("calm=0.3", "LABEL one of"), ("neutral", "LABEL one of"), ("neutral=lots", "not a number"),
    ("neutral=0", "above 0"), ("neutral=0.6,happy=0.5", "add up to"),
])
def test_a_bad_prior_is_refused_in_one_line_naming_the_problem(text, why):
    with pytest.raises(PriorError) as e:
        prior_weights(text, LABELS)
    assert why in str(e.value) and "\n" not in str(e.value)
    assert not valid_prior(text)


def test_the_training_shares_become_the_asked_shares():
    """A face the model has no opinion on gets the training shares as probabilities; under another prior it
    must get that prior."""
    counts = np.array([FER2013_TRAINING_COUNTS[k] for k in LABELS], float)
    undecided = (counts / counts.sum())[None]
    assert prior_weights("trained", LABELS) is None and apply_prior(undecided, None) is undecided
    assert np.allclose(apply_prior(undecided, prior_weights("uniform", LABELS)), 1 / 7)
    asked = target_shares("neutral=0.5", LABELS)
    assert np.allclose(apply_prior(undecided, prior_weights("neutral=0.5", LABELS)), asked)
    # a confident face stays what it is, and the order of two classes moves toward the more likely one
    sure = np.array([[0.01, 0.0, 0.01, 0.95, 0.01, 0.01, 0.01]])
    assert apply_prior(sure, prior_weights("uniform", LABELS)).argmax() == LABELS.index("happy")
    torn = np.array([[0.0, 0.0, 0.0, 0.0, 0.48, 0.0, 0.52]])      # sad or neutral
    assert apply_prior(torn, prior_weights("neutral=0.05", LABELS)).argmax() == LABELS.index("sad")


def test_a_model_with_other_labels_takes_only_the_trained_prior():
    with pytest.raises(PriorError, match="class shares"):
        prior_weights("uniform", ("a", "b"))
    assert prior_weights("trained", ("a", "b")) is None


def test_run_with_a_prior_logs_it_and_moves_the_probabilities(clip, tmp_path):
    def probabilities(log):
        with open(log / "frames.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        labels = Catalog.load().default("classifier").labels
        return np.array([[float(r[f"p_{k}"]) for k in labels] for r in rows])

    plain, uniform = tmp_path / "plain", tmp_path / "uniform"
    for log, prior in ((plain, "trained"), (uniform, "uniform")):
        r = run_cli("run", "--source", str(clip), "--log", str(log), "--max-frames", "6", "--prior", prior, "--json")
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["prior"] == prior
        assert read_json(log / "session.json")["prior"] == prior
    p, q = probabilities(plain), probabilities(uniform)
    assert p.shape == q.shape and np.allclose(q.sum(1), 1, atol=0.01)
    labels = Catalog.load().default("classifier").labels
    w = prior_weights("uniform", labels)
    assert np.allclose(q, apply_prior(p, w), atol=2e-3)


def test_run_refuses_a_bad_prior_before_it_starts(clip):
    r = run_cli("run", "--source", str(clip), "--no-log", "--prior", "neutral=1.5")
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "prior 'neutral=1.5'" in r.stderr.strip().splitlines()[-1]


def test_eval_takes_the_prior_and_says_so(tmp_path):
    """The demo photograph's face, moved and relit: the class the model calls second most often gains
    when the prior makes it common."""
    import cv2

    from ferdesk.session import build_stack
    from ferdesk.types import Frame

    stack = build_stack()
    image = cv2.imread(str(DEMO_IMAGE))
    located = stack.pipeline.locate(Frame(image, 0, 0.0, 0.0, new_scene=True))
    x, y, w, h = (int(v) for v in located.detections[0].box)
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    rng = np.random.default_rng(0)
    faces = []
    for _ in range(40):
        dx, dy, gain = rng.integers(-w // 8, w // 8 + 1), rng.integers(-h // 8, h // 8 + 1), rng.uniform(0.6, 1.3)
        crop = gray[max(0, y + dy):y + dy + h, max(0, x + dx):x + dx + w].astype(np.float32) * gain
        faces.append(cv2.resize(np.clip(crop, 0, 255).astype(np.uint8), (48, 48), interpolation=cv2.INTER_AREA))
    probs = stack.pipeline.classifier.classify(np.stack(faces))
    second = LABELS[int(np.argsort(probs.mean(0))[-2])]
    data = tmp_path / "faces.npz"
    np.savez(data, images=np.stack(faces), labels=rng.integers(0, 7, 40), classes=np.array(LABELS))
    plain = json.loads(run_cli("eval", "--data", str(data), "--json").stdout)
    shifted = json.loads(run_cli("eval", "--data", str(data), "--prior", f"{second}=0.9", "--json").stdout)
    assert plain["prior_setting"] == "trained" and shifted["prior_setting"] == f"{second}=0.9"
    assert shifted["prior"][second]["predicted"] > plain["prior"][second]["predicted"]
