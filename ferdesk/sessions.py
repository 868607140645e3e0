"""Reading recorded sessions back: listing, summaries, and export to other tools' formats."""
from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from ferdesk.errors import FerdeskError

# py-feat's Fex names for the FER2013 classes, and OpenFace's leading columns.
FEX_EMOTIONS = {"angry": "anger", "disgust": "disgust", "fear": "fear", "happy": "happiness",
                "sad": "sadness", "surprise": "surprise", "neutral": "neutral", "contempt": "contempt"}
OPENFACE_LEADING = ["frame", "face_id", "timestamp", "confidence", "success"]


def sessions_root() -> Path:
    return Path(platformdirs.user_data_dir("ferdesk")) / "sessions"


@dataclass(frozen=True)
class SessionSummary:
    folder: Path
    started_at: str | None
    duration_s: float
    frames: int
    faces: int
    face_ids: int
    label_share: dict[str, float]  # share of logged faces per label
    model: str | None
    stopped: bool
    participant: str | None = None
    condition: str | None = None
    note: str | None = None


def read_rows(folder: Path) -> tuple[list[str], list[dict]]:
    path = Path(folder) / "frames.csv"
    if not path.exists():
        raise FerdeskError(f"not a ferdesk session (no frames.csv): {folder}")
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def summarise(folder: Path) -> SessionSummary:
    folder = Path(folder)
    meta = {}
    if (folder / "session.json").exists():
        try:
            meta = json.loads((folder / "session.json").read_text())
        except json.JSONDecodeError:
            meta = {}
    _, rows = read_rows(folder)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["label"]] = counts.get(r["label"], 0) + 1
    times = [float(r["time_s"]) for r in rows]
    return SessionSummary(
        folder, meta.get("started_at"), (max(times) - min(times)) if times else 0.0,
        int(meta.get("frames_processed", len({r["frame"] for r in rows}))), len(rows),
        len({r["face_id"] for r in rows}), {k: v / len(rows) for k, v in sorted(counts.items())} if rows else {},
        meta.get("model"), bool(meta.get("stopped_at")), meta.get("participant"), meta.get("condition"), meta.get("note"),
    )


def list_sessions(root: Path | None = None) -> list[Path]:
    root = Path(root or sessions_root())
    if not root.exists():
        return []
    found = []
    for p in root.iterdir():
        if (p / "frames.csv").exists():
            found.append(p)
        elif p.is_dir():   # a batch: one session per source inside
            found += [q for q in p.iterdir() if (q / "frames.csv").exists()]
    return sorted(found, reverse=True)


def openface_pose(row: dict) -> list[str]:
    """OpenFace's pose_Rx, pose_Ry, pose_Rz (pitch, yaw, roll) in radians, from ferdesk's degrees. OpenFace
    documents a camera frame with x right, y down and z away from the camera, and left-handed positive angles;
    from ferdesk's frame (y up, z toward the camera, right-handed) that makes Rx = -pitch, Ry = yaw, Rz = roll.
    Derived from the documentation, not compared with OpenFace's own output."""
    if not row.get("pitch"):
        return ["", "", ""]
    pitch, yaw, roll = (math.radians(float(row[k])) for k in ("pitch", "yaw", "roll"))
    return [f"{-pitch:.4f}", f"{yaw:.4f}", f"{roll:.4f}"]


def read_video_index(folder: Path) -> list[tuple[int, float]]:
    """(source frame, media time) per video frame of a session recorded with its video."""
    from ferdesk.video_log import INDEX_FILE, VIDEO_FILE

    folder = Path(folder)
    if not (folder / VIDEO_FILE).exists() or not (folder / INDEX_FILE).exists():
        raise FerdeskError(f"session {folder} has no video (record with --record-video, or the window's Video choice)")
    with open(folder / INDEX_FILE, newline="") as f:
        return [(int(r["frame"]), float(r["time_s"])) for r in csv.DictReader(f)]


def faces_by_frame(rows: list[dict]) -> dict[int, list[dict]]:
    """frames.csv rows grouped by source frame, each as ``face_id, box, label, confidence``."""
    by_frame: dict[int, list[dict]] = {}
    for r in rows:
        by_frame.setdefault(int(r["frame"]), []).append({
            "face_id": int(r["face_id"]), "box": tuple(float(r[k]) for k in ("x", "y", "w", "h")),
            "label": r["label"], "confidence": float(r["confidence"])})
    return by_frame


def export_video(folder: Path, out: Path | None = None) -> Path:
    """The session's video with each frame's boxes, ids and labels from frames.csv drawn in."""
    import cv2

    from ferdesk.video_log import VIDEO_FILE, draw_faces

    folder = Path(folder)
    index = read_video_index(folder)
    _, rows = read_rows(folder)
    faces = faces_by_frame(rows)
    cap = cv2.VideoCapture(str(folder / VIDEO_FILE))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    out = Path(out or folder / "overlay.mp4")
    writer = None
    try:
        for frame, _ in index:
            ok, image = cap.read()
            if not ok:
                break
            if writer is None:
                h, w = image.shape[:2]
                writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
                if not writer.isOpened():
                    raise FerdeskError(f"cannot write {out}: OpenCV has no MPEG-4 writer here")
            writer.write(draw_faces(image, faces.get(frame, [])))
    finally:
        cap.release()
        if writer is not None:
            writer.release()
    if writer is None:
        raise FerdeskError(f"the video of session {folder} has no frame that can be read")
    return out


def export(folder: Path, fmt: str, out: Path | None = None) -> Path:
    """Write the session's frames in py-feat's (``fex``) or OpenFace's (``openface``) column names, or its
    video with the log drawn in (``video``)."""
    if fmt == "video":
        return export_video(folder, out)
    columns, rows = read_rows(folder)
    probs = [c for c in columns if c.startswith("p_")]
    if fmt == "fex":
        header = ["frame", "FaceRectX", "FaceRectY", "FaceRectWidth", "FaceRectHeight", "FaceScore",
                  *(FEX_EMOTIONS.get(c[2:], c[2:]) for c in probs), "input", "approx_time", "face_id", "Identity",
                  "Pitch", "Roll", "Yaw"]
        # Identity: the tracked face as py-feat names the people it tells apart (Fex.identities)
        convert = lambda r: [r["frame"], r["x"], r["y"], r["w"], r["h"], r["score"], *(r[c] for c in probs),  # noqa: E731
                             str(Path(folder) / "frames.csv"), r["time_s"], r["face_id"], f"Person_{r['face_id']}",
                             r.get("pitch", ""), r.get("roll", ""), r.get("yaw", "")]
    elif fmt == "openface":
        header = [*OPENFACE_LEADING, "face_x", "face_y", "face_width", "face_height", *(c[2:] for c in probs), "label",
                  "pose_Rx", "pose_Ry", "pose_Rz"]
        convert = lambda r: [int(r["frame"]) + 1, int(r["face_id"]) - 1, r["time_s"], r["score"], 1,  # noqa: E731
                             r["x"], r["y"], r["w"], r["h"], *(r[c] for c in probs), r["label"], *openface_pose(r)]
    else:
        raise FerdeskError(f"unknown export format {fmt!r} (fex, openface)")
    out = Path(out or Path(folder) / f"frames.{fmt}.csv")
    try:
        with open(out, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(convert(r) for r in rows)
    except OSError as e:
        raise FerdeskError(f"cannot write {out}: {e.strerror or e}") from None
    return out
