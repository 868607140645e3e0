"""The pipeline core: staged running, tracking, crops, the recorder's crash safety pieces."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import DEMO_IMAGE

from ferdesk.errors import SourceError
from ferdesk.session import build_stack
from ferdesk.sources import make_source
from ferdesk.runner import Processed, Runner
from ferdesk.tracking import IouTracker


def processed(runner: Runner) -> list:
    return [e.result for e in runner.events() if isinstance(e, Processed)]


def test_runner_matches_the_sequential_pipeline_in_order(clip):
    staged = processed(Runner(str(clip), threads=1, strict=True))
    stack = build_stack(threads=1)
    with make_source(str(clip)) as src:
        sequential = []
        while (f := src.read()) is not None:
            sequential.append(stack.pipeline.process(f))
    assert [r.frame_index for r in staged] == list(range(24))
    assert len(staged) == len(sequential)
    for a, b in zip(staged, sequential):
        assert [f.face_id for f in a.faces] == [f.face_id for f in b.faces]
        for fa, fb in zip(a.faces, b.faces):
            assert np.allclose(fa.probs, fb.probs, atol=1e-5) and np.allclose(fa.box, fb.box)
        assert {"capture", "detect", "classify"} <= set(a.timings_ms)


def test_a_strict_runner_raises_a_source_failure_instead_of_hanging(clip, monkeypatch):
    from ferdesk.sources.video import VideoSource

    real_read = VideoSource.read
    calls = {"n": 0}

    def failing_read(self):
        calls["n"] += 1
        if calls["n"] == 5:
            raise SourceError("camera 0 lost: unplugged")
        return real_read(self)

    monkeypatch.setattr(VideoSource, "read", failing_read)
    with pytest.raises(SourceError, match="unplugged"):
        processed(Runner(str(clip), threads=1, strict=True))


def test_images_of_a_folder_share_no_track_or_detector_hint(tmp_path):
    """Unrelated pictures: each starts with no tracks (ids keep counting) and no detector memory."""
    photo = cv2.imread(str(DEMO_IMAGE))
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), photo)
    results = processed(Runner(str(tmp_path), threads=1, strict=True))
    ids = [f.face_id for r in results for f in r.faces]
    assert len(results) == 3 and len(ids) == 3 and len(set(ids)) == 3   # the same face, but never one track


def test_tracker_keeps_ids_through_motion_and_short_misses():
    tr = IouTracker(max_missed=2)
    a, b = (10, 10, 100, 100), (300, 10, 100, 100)
    assert tr.update([a, b]) == [1, 2]
    assert tr.update([(b[0] + 5, 12, 100, 100), (a[0] + 5, 12, 100, 100)]) == [2, 1]
    assert tr.update([(20, 15, 100, 100)]) == [1]                        # b missed once
    assert tr.update([(22, 15, 100, 100), (310, 12, 100, 100)]) == [1, 2]  # b back, same id
    tr.update([])
    tr.update([])
    tr.update([])
    assert tr.update([(22, 15, 100, 100)]) == [3]                        # gone too long: new id


def test_ema_temporal_head_smooths_per_face_and_forgets_lost_faces():
    from ferdesk.temporal import make_temporal

    head = make_temporal("ema")
    a, b = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
    assert np.allclose(head.update((1,), a), a)                     # a new face starts from its frame
    smoothed = head.update((1,), b)
    assert np.allclose(smoothed, head.alpha * b + (1 - head.alpha) * a)
    assert np.allclose(head.update((2,), b), b)                     # face 1 gone, face 2 new
    assert np.allclose(head.update((1,), a), a)                     # face 1 forgotten: starts again
    assert np.allclose(make_temporal("off").update((1,), a), a)


def test_run_with_temporal_ema_reports_the_stage(clip):
    import json

    from conftest import run_cli

    r = run_cli("run", "--source", str(clip), "--no-log", "--temporal", "ema", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["temporal"] == "ema" and "temporal" in out["latency_ms"]
    bad = run_cli("run", "--source", str(clip), "--no-log", "--temporal", "nope")
    assert bad.returncode == 2 and "unknown temporal mode 'nope'" in bad.stderr
