"""BlazeFace (MediaPipe face detection), short range (128x128) and full range (192x192).

The networks come from the mediapipe 0.10.21 wheel (Apache-2.0); see
``tools/convert_blazeface.py``. Anchors follow MediaPipe's SSD anchor calculator
options for each model (``anchors`` in the catalog entry).
"""
from __future__ import annotations

import cv2
import numpy as np

from ferdesk.catalog import ModelSpec
from ferdesk.detectors.base import Detector, RawFace, nms
from ferdesk.detectors.face_check import FaceCheck
from ferdesk.detectors.registry import detectors
from ferdesk.engines import engines, open_engine
from ferdesk.errors import ModelError
from ferdesk.tracking import iou_matrix


def ssd_anchors(input_size: int, strides: list[int], anchors_per_stride: list[int]) -> np.ndarray:
    """Anchor centres (N, 2) in [0, 1], in MediaPipe's order.

    As in MediaPipe's SsdAnchorsCalculator, consecutive layers with the same stride share
    one grid: each cell lists all their anchors together (row, column, anchor).
    """
    merged: list[list[int]] = []
    for stride, per in zip(strides, anchors_per_stride):
        if merged and merged[-1][0] == stride:
            merged[-1][1] += per
        else:
            merged.append([stride, per])
    out = []
    for stride, per in merged:
        grid = int(np.ceil(input_size / stride))
        ys, xs = np.mgrid[0:grid, 0:grid]
        centres = np.stack([(xs + 0.5) / grid, (ys + 0.5) / grid], -1).reshape(-1, 1, 2)
        out.append(np.repeat(centres, per, axis=1).reshape(-1, 2))
    return np.concatenate(out).astype(np.float32)


class _BlazeFaceBase(Detector):
    def __init__(self, spec: ModelSpec, backend: str | None = None, threads: int = 2, min_score: float | None = None,
                 check: FaceCheck | None = None):
        super().__init__(spec, backend, threads, min_score)
        # Face check: a face not seen in the previous frame is shown only when the face-landmark network,
        # looking at its box alone, scores it min_face_score or more (textures BlazeFace takes for faces)
        self.check = check
        check_spec = spec.get("check") or {}
        self.min_face_score = float(check_spec.get("min_face_score", 0.5))
        # a box narrower than small_face_px pixels gives the check few pixels to judge: it must score higher
        self.small_face_px = float(check_spec.get("small_face_px", 0))
        self.min_small_face_score = float(check_spec.get("min_small_face_score", self.min_face_score))
        self.max_checks = int(check_spec.get("max_checks", 8))
        backend = backend or self._default_backend(spec)
        self.engine, mf = open_engine(spec, backend, threads, f"detector {spec.name}")
        self.input = spec.input_for(mf)   # a file may take other input (an NPU file: raw NHWC uint8 pixels)
        a = spec.get("anchors")
        self.anchors = ssd_anchors(self.input.width, a["strides"], a["anchors_per_stride"])
        self.size = self.input.width
        # Second look: a weak candidate (candidate_score <= score < min_score) is kept only
        # when the detector, run again on a zoomed crop around it, scores it >= second_look_score.
        # Tight face crops (FER2013 style, no head outline) score 0.2-0.5 at full-frame scale.
        self.candidate_score = float(spec.get("candidate_score", self.min_score))
        self.second_look_zoom = float(spec.get("second_look_zoom", 2.0))
        self.second_look_score = float(spec.get("second_look_score", 0.6))
        self.max_second_looks = int(spec.get("max_second_looks", 6))
        self._previous: list[RawFace] = []  # faces accepted in the previous frame
        self._rejected: list[tuple[tuple, int]] = []  # (box, frame number) of failed second looks
        self._frame_no = 0
        self.reject_memory = int(spec.get("reject_memory", 5))
        # Optional tiled pass (cols, rows): each tile is 60% of the frame, so small faces are
        # seen at about twice the scale; detections touching an inner tile edge are dropped
        # (the full face is in another tile or in the full-frame pass).
        self.tiles = tuple(spec.get("tiles", ()))
        # Optional scan for small faces: square tiles whose sides are these fractions of the frame's shorter
        # side, overlapping by a quarter, each run at the detector's input size (in a 640x480 frame a 0.2 tile is
        # 96 px and shows a 24-px face at 32 px of 128). A still scene (reset(new_scene=True): an image of a
        # folder, a photograph being evaluated) is scanned whole; a video ``scan_tiles_per_frame`` tiles a frame
        # in turn from its first frame (no stall when it starts), and each small face found is followed in a
        # window around it.
        self.scan_sides = tuple(float(v) for v in spec.get("scan_tiles", ()))
        self.scan_per_frame = int(spec.get("scan_tiles_per_frame", 2))
        self.follow_below = float(spec.get("follow_below", 96))
        self.scan_largest = float(spec.get("scan_largest", 0.25))   # of the frame's shorter side
        # a scan candidate needs this score; below min_score only when a face check will judge it
        self.scan_min_score = float(spec.get("scan_min_score", self.min_score)) if check is not None else self.min_score
        self._scan_next = 0
        self._scan_layout: tuple = (None, [])
        self._scan_whole = False   # the next frame is a still scene (reset(new_scene=True)): scan it whole
    @staticmethod
    def _default_backend(spec: ModelSpec) -> str:
        for name, cls in engines:
            if cls.file_for(spec) is not None and cls.availability()[0]:
                return name
        raise ModelError(f"no available backend can run detector {spec.name} (files: {', '.join(spec.formats)})")

    def describe(self) -> dict:
        return {**super().describe(), **self.engine.describe()}

    def _letterbox(self, image: np.ndarray) -> tuple[np.ndarray, float, int, int]:
        h, w = image.shape[:2]
        s = self.size / max(h, w)
        nw, nh = round(w * s), round(h * s)
        resized = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
        px, py = (self.size - nw) // 2, (self.size - nh) // 2
        canvas = np.zeros((self.size, self.size, 3), np.uint8)
        canvas[py:py + nh, px:px + nw] = resized
        return cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB), s, px, py

    def _run(self, image: np.ndarray, threshold: float) -> list[RawFace]:
        rgb, s, px, py = self._letterbox(image)
        reg, cls = sorted(self.engine.run(self.input.to_tensor(rgb[None])), key=lambda o: -o.shape[-1])
        reg, logits = reg[0], cls[0, :, 0]
        scores = 1 / (1 + np.exp(-np.clip(logits, -50, 50)))
        idx = np.nonzero(scores >= threshold)[0]
        if idx.size == 0:
            return []
        r, a = reg[idx] / self.size, self.anchors[idx]
        cx, cy = r[:, 0] + a[:, 0], r[:, 1] + a[:, 1]
        bw, bh = r[:, 2], r[:, 3]
        # a box holding most of another is the same face at another scale, unless a face check will judge them
        # (a false box around a face, a cat's head around a person's, must not hide the face before it is checked)
        containment = 1.01 if self.check is not None else 0.6
        keep = nms(np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1), scores[idx], containment=containment)

        def to_src(u, v):
            return ((u * self.size - px) / s, (v * self.size - py) / s)

        faces = []
        for k in keep:
            ccx, ccy = to_src(cx[k], cy[k])
            points = tuple(to_src(r[k, 4 + 2 * j] + a[k, 0], r[k, 5 + 2 * j] + a[k, 1]) for j in range((r.shape[1] - 4) // 2))
            faces.append(RawFace(ccx, ccy, bw[k] * self.size / s, bh[k] * self.size / s, float(scores[idx][k]), points[:2],
                                 points))
        return faces

    def _look_around(self, image: np.ndarray, f: RawFace, threshold: float, reach: float) -> RawFace | None:
        """The best face scoring ``threshold`` or more in a window ``second_look_zoom`` times ``f``'s size around it,
        its centre within ``reach`` of the window's side from the window's centre; None when there is none."""
        side = int(max(f.w, f.h) * self.second_look_zoom)
        x0, y0 = int(f.cx - side / 2), int(f.cy - side / 2)
        crop = window(image, x0, y0, side)
        near = [q for q in self._run(crop, threshold) if abs(q.cx - side / 2) < side * reach and abs(q.cy - side / 2) < side * reach]
        if not near:
            return None
        return max(near, key=lambda q: q.score).shifted(x0, y0)

    def _second_look(self, image: np.ndarray, f: RawFace) -> RawFace | None:
        return self._look_around(image, f, self.second_look_score, 1 / 4)

    def _tiled(self, image: np.ndarray) -> list[RawFace]:
        h, w = image.shape[:2]
        cols, rows = self.tiles
        tw, th = int(w * 0.6), int(h * 0.6)
        out = []
        for y0 in np.linspace(0, h - th, rows).astype(int):
            for x0 in np.linspace(0, w - tw, cols).astype(int):
                for q in self._run(image[y0:y0 + th, x0:x0 + tw], self.min_score):
                    if not _cut_by_inner_edge(q, x0, y0, tw, th, w, h, margin=4):
                        out.append(q.shifted(x0, y0))
        return out

    def _scan_windows(self, h: int, w: int) -> list[tuple[int, int, int]]:
        """The scan's tiles (x0, y0, side) for a h x w frame, laid out once per frame size."""
        if self._scan_layout[0] != (h, w, self.scan_sides):
            self._scan_layout = ((h, w, self.scan_sides), self._lay_out_scan(h, w))
        return self._scan_layout[1]

    def _lay_out_scan(self, h: int, w: int) -> list[tuple[int, int, int]]:
        out = []
        for fraction in self.scan_sides:
            side = int(round(fraction * min(h, w)))
            if side < 16 or side >= max(h, w):
                continue
            step = max(1, int(side * 0.75))
            xs = sorted({*range(0, max(1, w - side), step), max(0, w - side)})
            ys = sorted({*range(0, max(1, h - side), step), max(0, h - side)})
            out += [(x0, y0, side) for y0 in ys for x0 in xs]
        return out

    def _scan(self, image: np.ndarray) -> list[RawFace]:
        """Small faces: every scan tile on a still scene, else the next ``scan_per_frame`` tiles in turn."""
        h, w = image.shape[:2]
        tiles = self._scan_windows(h, w)
        if not tiles:
            return []
        if self._scan_whole:
            chosen = tiles
        else:
            chosen = [tiles[(self._scan_next + k) % len(tiles)] for k in range(min(self.scan_per_frame, len(tiles)))]
            self._scan_next = (self._scan_next + len(chosen)) % len(tiles)
        out = []
        # the scan is for small faces: a large one is the full-frame pass's (a tile shows it cut or crowded, and
        # a box from there would displace the full frame's better one)
        largest = self.scan_largest * min(h, w)
        for x0, y0, side in chosen:
            tile = image[y0:y0 + side, x0:x0 + side]
            th, tw = tile.shape[:2]
            for q in self._run(tile, self.scan_min_score):
                if q.w <= largest and q.w <= 0.6 * side and not _cut_by_inner_edge(q, x0, y0, tw, th, w, h, margin=2):
                    out.append(q.shifted(x0, y0))
        return out

    def _follow(self, image: np.ndarray) -> list[RawFace]:
        """Each small face of the previous frame, looked for again in a window three times its size around it
        (the full frame shows it too small to be found again)."""
        found = (self._look_around(image, f, self.min_score, 1 / 3) for f in self._previous if max(f.w, f.h) < self.follow_below)
        return [q for q in found if q is not None]

    def reset(self, new_scene: bool = False) -> None:
        self._previous, self._rejected = [], []
        self._frame_no, self._scan_next = 0, 0
        self._scan_whole = new_scene

    def detect_raw(self, image: np.ndarray) -> list[RawFace]:
        self._frame_no += 1
        faces = self._run(image, min(self.candidate_score, self.min_score))
        if self.tiles:
            faces += self._tiled(image)
        scanned = self._scan(image) + self._follow(image) if self.scan_sides else []
        # the scan's candidates (scan_min_score and up) go straight to the face check with the strong ones
        strong = [f for f in faces if f.score >= self.min_score] + scanned
        weak = sorted((f for f in faces if f.score < self.min_score), key=lambda f: -f.score)
        # A weak candidate where a face was accepted in the previous frame is the same face
        # (faces move little between frames): keep it without paying for a second look.
        # Likewise a weak candidate where one was rejected lately is not looked at again
        # until the rejection expires (static textures would otherwise cost a look per frame).
        self._rejected = [(box, n) for box, n in self._rejected if self._frame_no - n < self.reject_memory]
        boxes = [_xywh(f) for f in weak]
        held = iou_matrix(boxes, [_xywh(f) for f in self._previous])
        known_bad = iou_matrix(boxes, [box for box, _ in self._rejected])
        looks = 0
        for i, f in enumerate(weak):
            if held.shape[1] and held[i].max() >= 0.5:
                strong.append(f)
            elif known_bad.shape[1] and known_bad[i].max() >= 0.5:
                continue
            elif looks < self.max_second_looks:
                looks += 1
                confirmed = self._second_look(image, f)
                if confirmed is not None:
                    strong.append(confirmed)
                else:
                    self._rejected.append((boxes[i], self._frame_no))
        if self.check is not None:
            strong = self._checked(image, _one_box_per_face(strong, containment=1.01))
        self._previous = strong = _one_box_per_face(strong, containment=0.6)
        self._scan_whole = False
        return strong

    def _checked(self, image: np.ndarray, faces: list[RawFace]) -> list[RawFace]:
        """The faces that were accepted in the previous frame, and the new ones the face check passes. On a new
        scene (a still image) every candidate is checked; in a video at most ``max_checks`` new ones a frame,
        the largest first (the rest wait for a later frame). A box under ``small_face_px`` wide needs
        ``min_small_face_score``, the others ``min_face_score``."""
        faces = sorted(faces, key=lambda f: -f.w)
        boxes = [_xywh(f) for f in faces]
        held = iou_matrix(boxes, [_xywh(f) for f in self._previous])
        known_bad = iou_matrix(boxes, [box for box, _ in self._rejected])
        budget = len(faces) if self._scan_whole else self.max_checks
        kept, checks = [], 0
        for i, f in enumerate(faces):
            if held.shape[1] and held[i].max() >= 0.5:
                kept.append(f)
            elif (known_bad.shape[1] and known_bad[i].max() >= 0.5) or checks >= budget:
                continue
            else:
                checks += 1
                need = self.min_small_face_score if f.w < self.small_face_px else self.min_face_score
                if self.check.score(image, f) >= need:
                    kept.append(f)
                else:
                    self._rejected.append((boxes[i], self._frame_no))
        return kept


def _cut_by_inner_edge(q: RawFace, x0: int, y0: int, tw: int, th: int, w: int, h: int, margin: float) -> bool:
    """Whether face ``q`` of the tile at (x0, y0), tw x th, of a w x h frame touches an edge of the tile inside the
    frame: it is then cut, and whole in a neighbouring tile or the full-frame pass."""
    x1, y1, x2, y2 = q.cx - q.w / 2, q.cy - q.h / 2, q.cx + q.w / 2, q.cy + q.h / 2
    return ((x0 > 0 and x1 < margin) or (y0 > 0 and y1 < margin) or (x0 + tw < w and x2 > tw - margin)
            or (y0 + th < h and y2 > th - margin))


def _one_box_per_face(faces: list[RawFace], containment: float) -> list[RawFace]:
    """Second looks, tiles and the scan can find a face already kept: the best-scored box of each."""
    if len(faces) < 2:
        return faces
    boxes = np.array([[f.cx - f.w / 2, f.cy - f.h / 2, f.cx + f.w / 2, f.cy + f.h / 2] for f in faces])
    return [faces[i] for i in nms(boxes, np.array([f.score for f in faces]), containment=containment)]


def window(image: np.ndarray, x0: int, y0: int, side: int) -> np.ndarray:
    """The side x side square at (x0, y0), zero-padded where it leaves the image."""
    h, w = image.shape[:2]
    out = np.zeros((side, side, 3), image.dtype)
    sx0, sy0, sx1, sy1 = max(0, x0), max(0, y0), min(w, x0 + side), min(h, y0 + side)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = image[sy0:sy1, sx0:sx1]
    return out


def _xywh(f: RawFace) -> tuple[float, float, float, float]:
    return (f.cx - f.w / 2, f.cy - f.h / 2, f.w, f.h)


@detectors.register("blazeface")
class BlazeFaceShort(_BlazeFaceBase):
    """Short range (faces within about 2 m of the camera): the default."""

    @classmethod
    def availability(cls) -> tuple[bool, str]:
        return engines.get("onnxruntime").availability()


@detectors.register("blazeface-frame")
class BlazeFaceFrame(BlazeFaceShort):
    """Short range on the whole frame with the face check, without the small-face scan: a third of the default's
    BlazeFace passes a frame, for slow boards (faces of about 100 px and more in a 640x480 frame)."""


@detectors.register("blazeface-tiled")
class BlazeFaceTiled(BlazeFaceShort):
    """Short range plus a 2x2 tiled pass: finds small and tightly cropped faces (datasets,
    pasted crops) at the cost of more false faces on textured scenes and ~4x the detector time."""


@detectors.register("blazeface-full")
class BlazeFaceFull(_BlazeFaceBase):
    """Full range (faces up to about 5 m), sparse weights: LiteRT only."""

    @classmethod
    def availability(cls) -> tuple[bool, str]:
        return engines.get("litert").availability()
