import csv

import pytest

from conftest import run_cli
from ferdesk.sessions import export, list_sessions, summarise


@pytest.fixture(scope="module")
def session(clip, tmp_path_factory):
    folder = tmp_path_factory.mktemp("s") / "session"
    r = run_cli("run", "--source", str(clip), "--log", str(folder))
    assert r.returncode == 0, r.stderr
    return folder


def test_summary_counts_faces_and_label_shares(session):
    s = summarise(session)
    assert s.frames == 24 and s.faces >= 40 and s.face_ids >= 2 and s.stopped
    assert abs(sum(s.label_share.values()) - 1) < 1e-9
    assert list_sessions(session.parent) == [session]


def test_export_fex_uses_py_feat_column_names(session, tmp_path):
    out = export(session, "fex", tmp_path / "fex.csv")
    rows = list(csv.DictReader(open(out)))
    assert {"frame", "FaceRectX", "FaceRectY", "FaceRectWidth", "FaceRectHeight", "FaceScore",
            "anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral"} <= set(rows[0])
    original = list(csv.DictReader(open(session / "frames.csv")))
    assert len(rows) == len(original)
    assert rows[0]["happiness"] == original[0]["p_happy"] and rows[0]["FaceRectX"] == original[0]["x"]
    assert [r["Identity"] for r in rows] == [f"Person_{r['face_id']}" for r in original]   # py-feat's Fex.identities


def test_export_openface_leads_with_openface_columns(session, tmp_path):
    r = run_cli("export", str(session), "--format", "openface", "--out", str(tmp_path / "of.csv"))
    assert r.returncode == 0, r.stderr
    header = next(csv.reader(open(tmp_path / "of.csv")))
    assert header[:5] == ["frame", "face_id", "timestamp", "confidence", "success"]


def test_export_of_a_folder_that_is_not_a_session(tmp_path):
    r = run_cli("export", str(tmp_path), "--format", "fex")
    assert r.returncode == 2 and "not a ferdesk session" in r.stderr and "Traceback" not in r.stderr


def test_session_folders_made_in_one_second_are_distinct(tmp_path):
    from ferdesk.recorder import new_session_dir

    folders = [new_session_dir(tmp_path) for _ in range(6)]
    assert len(set(folders)) == 6 and all(f.is_dir() and not any(f.iterdir()) for f in folders)


def test_participant_condition_and_note_reach_session_json_and_the_summary(clip, tmp_path):
    from conftest import read_json, run_cli
    from ferdesk.sessions import summarise

    log = tmp_path / "p07"
    r = run_cli("run", "--source", str(clip), "--log", str(log), "--max-frames", "3", "--participant", "P07",
                "--condition", "baseline", "--note", "glasses on")
    assert r.returncode == 0, r.stderr
    meta = read_json(log / "session.json")
    assert (meta["participant"], meta["condition"], meta["note"]) == ("P07", "baseline", "glasses on")
    s = summarise(log)
    assert (s.participant, s.condition, s.note) == ("P07", "baseline", "glasses on")
    plain = tmp_path / "plain"
    assert run_cli("run", "--source", str(clip), "--log", str(plain), "--max-frames", "2").returncode == 0
    assert read_json(plain / "session.json")["participant"] is None
