"""A still image, or a folder of images processed in name order (each image one frame)."""
from __future__ import annotations

import time
from pathlib import Path

import cv2

from ferdesk.errors import SourceError
from ferdesk.sources.base import Source
from ferdesk.sources.registry import sources
from ferdesk.types import Frame

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}


@sources.register("images")
class ImageSource(Source):
    def __init__(self, target: str, realtime: bool = False, fps: float = 30.0):
        super().__init__(target, realtime)
        self.path = Path(target)
        self._files: list[Path] = []
        self._index = 0
        self._fps = fps

    def open(self) -> None:
        if not self.path.exists():
            raise SourceError(f"image file or folder not found: {self.path}")
        if self.path.is_dir():
            self._files = sorted(p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not self._files:
                raise SourceError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in folder {self.path}")
        else:
            self._files = [self.path]

    def read(self) -> Frame | None:
        while self._index < len(self._files):
            path = self._files[self._index]
            index = self._index
            self._index += 1
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                if len(self._files) == 1:
                    raise SourceError(f"cannot read image {path}: not an image OpenCV can decode, or it is corrupt")
                self.dropped += 1  # one unreadable file in a folder is skipped, not fatal
                continue
            if self.realtime:
                time.sleep(1 / self._fps)
            return Frame(image, index, index / self._fps, time.time(), new_scene=len(self._files) > 1)
        return None

    @property
    def fps(self) -> float | None:
        return self._fps

    @property
    def frame_count(self) -> int | None:
        return len(self._files)
