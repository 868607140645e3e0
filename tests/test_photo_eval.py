"""``ferdesk eval --images/--labels``: the whole path on labelled photographs, and the split by person."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from conftest import run_cli
from ferdesk.photo_sets import part_of, person_of, read_photo_set
from ferdesk.errors import FerdeskError
from ferdesk.sources.demo import DEMO_IMAGE

CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


@pytest.fixture
def photo_set(tmp_path):
    """Three photographs of the demo face (as three people) and one of a blank wall, labelled."""
    folder = tmp_path / "photos"
    folder.mkdir()
    face = cv2.imread(str(DEMO_IMAGE))
    for i, name in enumerate(("Ann_Lee_0001.jpg", "Ann_Lee_0002.jpg", "Bo_Chan_0001.jpg")):
        cv2.imwrite(str(folder / name), face if i != 1 else cv2.flip(face, 1))
    cv2.imwrite(str(folder / "wall.jpg"), np.full((300, 300, 3), 128, np.uint8))
    labels = tmp_path / "labels.csv"
    labels.write_text("file,label\nAnn_Lee_0001.jpg,happy\nAnn_Lee_0002.jpg,Happy\nBo_Chan_0001.jpg,sad\nwall.jpg,neutral\n")
    return folder, labels


def test_eval_on_photographs_reports_recall_confusion_prior_and_missed_faces(photo_set):
    folder, labels = photo_set
    r = run_cli("eval", "--images", str(folder), "--labels", str(labels), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["n"] == 4 and out["no_face"] == 1 and out["detector"] == "blazeface"
    answers = {a["file"]: a for a in out["photos"]}
    assert set(answers) == {"Ann_Lee_0001.jpg", "Ann_Lee_0002.jpg", "Bo_Chan_0001.jpg", "wall.jpg"}
    assert answers["wall.jpg"]["predicted"] is None and answers["Ann_Lee_0002.jpg"]["label"] == "happy"
    right = sum(a["predicted"] == a["label"] for a in out["photos"])
    assert right / 4 == pytest.approx(out["accuracy"])
    cm = np.array(out["confusion_matrix"])
    assert cm.shape == (7, 7) and cm.sum() == 3                 # the wall has no face: in no cell, and wrong
    assert out["accuracy"] == pytest.approx(np.trace(cm) / 4)
    assert out["per_class_recall"]["neutral"] == 0.0 and out["per_class_recall"]["fear"] is None
    present = [v for v in out["per_class_recall"].values() if v is not None]
    assert out["macro_recall"] == pytest.approx(np.mean(present))
    assert out["prior"]["happy"]["true"] == pytest.approx(0.5)
    assert sum(p["predicted"] for p in out["prior"].values()) == pytest.approx(3 / 4)
    text = run_cli("eval", "--images", str(folder), "--labels", str(labels))
    assert text.returncode == 0 and "macro recall" in text.stdout and "no face found in 1" in text.stdout


def test_the_split_keeps_each_person_on_one_side_and_is_stable(photo_set):
    folder, labels = photo_set
    assert person_of("Ann_Lee_0002.jpg") == "Ann_Lee" and person_of("wall.jpg") == "wall"
    # film stills are numbered without padding: all of one actor's stills are one person, not one each
    assert person_of("Dwarakish_7.jpg") == person_of("Dwarakish_153.jpg") == "Dwarakish"
    assert person_of("facial-expressions_2868582k.jpg") == "facial-expressions_2868582k"
    assert part_of("Ann_Lee") == part_of("Ann_Lee") in ("tune", "report")
    shares = [part_of(f"person {i}") for i in range(2000)]
    assert 0.26 < shares.count("report") / 2000 < 0.34
    everyone = read_photo_set(folder, labels, CLASSES)
    tune, report = (read_photo_set(folder, labels, CLASSES, part) if any(part_of(p.person) == part for p in everyone) else []
                    for part in ("tune", "report"))
    assert sorted(p.path.name for p in tune + report) == sorted(p.path.name for p in everyone)
    assert not {p.person for p in tune} & {p.person for p in report}


@pytest.mark.parametrize("csv_text, needle", [("name,label\nwall.jpg,happy\n", "columns file and label"),
                                              ("file,label\nwall.jpg,joy\n", "label 'joy' is not one of"),
                                              ("file,label\nnone.jpg,happy\n", "none.jpg not found")])
def test_a_bad_labels_file_is_one_line(photo_set, tmp_path, csv_text, needle):
    folder, _ = photo_set
    bad = tmp_path / "bad.csv"
    bad.write_text(csv_text)
    r = run_cli("eval", "--images", str(folder), "--labels", str(bad))
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and needle in r.stderr
    with pytest.raises(FerdeskError, match=needle):
        read_photo_set(folder, bad, CLASSES)


def test_eval_needs_one_kind_of_data(photo_set):
    folder, labels = photo_set
    for args, needle in ((["--images", str(folder)], "--images needs --labels"),
                         ([], "either --data"),
                         (["--images", str(folder), "--labels", str(labels), "--data", "x.npz"], "either --data")):
        r = run_cli("eval", *args)
        assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1 and needle in r.stderr, r.stderr
