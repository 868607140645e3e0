"""packaging/clip_smoothing_ceiling.py: frame-only, causal running mean and hold mean over one held face."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).resolve().parent.parent / "packaging" / "clip_smoothing_ceiling.py"


def _tool():
    spec = importlib.util.spec_from_file_location("clip_smoothing_ceiling", SCRIPT)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_running_and_hold_means_count_each_detected_frame():
    right, wrong = [0.6, 0.4], [0.3, 0.7]          # class 0 is the truth
    # one face held 4 frames: wrong, right, right, wrong (frame-only 2 of 4);
    # running mean: [.3,.7] wrong, [.45,.55] wrong, [.5,.5] argmax 0 right, [.45,.55] wrong -> 1 of 4;
    # hold mean [.45, .55]: wrong on all four
    face = np.array([wrong, right, right, wrong])
    # a second face, class 1, always right: 3 frames right on every measure
    other = np.array([[0.2, 0.8]] * 3)
    acc = _tool().accuracies([face, other], [0, 1])
    assert acc == {"frame-only": 5 / 7, "running mean": 4 / 7, "hold mean": 3 / 7}
