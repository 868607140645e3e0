"""experiments/clip_smoothing_ceiling.py: frame-only, causal running mean and hold mean over one held face."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).resolve().parent.parent / "experiments" / "clip_smoothing_ceiling.py"


def _tool():
    spec = importlib.util.spec_from_file_location("clip_smoothing_ceiling", SCRIPT)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_running_and_hold_means_count_each_detected_frame():
    right, wrong = [0.6, 0.4], [0.3, 0.7]          # class 0 is the truth
    # one face held 4 frames: wrong, right, right, wrong (frame-only 2 of 4);
    # running mean: [.3,.7] wrong, [.45,.55] wrong, [.5,.5] argmax 0 right, [.45,.55] wrong -> 1 of 4;
    # hold mean [.45, .55]: wrong on all four; EMA (alpha 0.4) [.3,.7], [.42,.58], [.492,.508], [.415,.585]: 0 of 4
    face = np.array([wrong, right, right, wrong])
    # a second face, class 1, always right: 3 frames right on every measure
    other = np.array([[0.2, 0.8]] * 3)
    acc = _tool().accuracies([face, other], [0, 1])
    assert acc == {"frame-only": 5 / 7, "running mean": 4 / 7, "hold mean": 3 / 7, "EMA (oracle start)": 3 / 7}


def test_held_faces_mark_a_face_that_begins_under_an_earlier_faces_track_id(tmp_path, capsys):
    import csv
    import json

    classes = ["angry", "happy"]
    # hold 0 (frames 0-9): face 7 on the left; hold 1 (frames 10-19): face 8 where face 7 was, face 9 on the right
    frames = [[{"index": 7, "box": [0, 0, 100, 100], "label": 0}] for _ in range(10)]
    frames += [[{"index": 8, "box": [5, 0, 100, 100], "label": 1}, {"index": 9, "box": [300, 0, 100, 100], "label": 1}]
               for _ in range(10)]
    (tmp_path / "clip.json").write_text(json.dumps({"classes": classes, "frames": frames}))
    log = tmp_path / "log"
    log.mkdir()
    with open(log / "frames.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["frame", "face_id", "x", "y", "w", "h", "p_angry", "p_happy"])
        for i in range(10):
            w.writerow([i, 1, 0, 0, 100, 100, 0.9, 0.1])
        for i in range(10, 20):
            w.writerow([i, 1, 5, 0, 100, 100, 0.2, 0.8])        # the tracker kept id 1 for the new face
            w.writerow([i, 2, 300, 0, 100, 100, 0.6, 0.4])      # a new id, wrong on every frame
    tool = _tool()
    faces, labels, inherited = tool.held_faces(tmp_path / "clip", log)
    assert labels == [0, 1, 1]
    assert inherited == [False, True, False]
    assert [len(f) for f in faces] == [10, 10, 10]
    tool.main([str(tmp_path / "clip"), str(log), "--by-track"])
    out = capsys.readouterr().out
    assert "| fresh | 2 | 20 (67%) | 0.500 |" in out
    assert "| inherited | 1 | 10 (33%) | 1.000 |" in out
