"""Render the SVG icon to the PNG sizes of the hicolor theme, and the window icon in the package.

usage: python packaging/render_icons.py
Writes packaging/icons/hicolor/SIZExSIZE/apps/io.github.ferdesk.ferdesk.png (16 to 512 px) and copies
the SVG and a 256 px PNG into ferdesk/resources/icons/ (package data: the window's icon). Uses Qt's
own SVG renderer (QtSvg, part of PySide6-Essentials), offscreen.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

HERE = Path(__file__).resolve().parent
APP_ID = "io.github.ferdesk.ferdesk"
SVG = HERE / "icons" / f"{APP_ID}.svg"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
PACKAGE_ICONS = HERE.parent / "ferdesk" / "resources" / "icons"


def render(renderer: QSvgRenderer, size: int, path: Path) -> None:
    image = QImage(size, size, QImage.Format_ARGB32)
    image.fill(Qt.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.Antialiasing)
    renderer.render(painter)
    painter.end()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(path)):
        raise SystemExit(f"could not write {path}")


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 (QImage painting needs one)
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        raise SystemExit(f"{SVG} is not a valid SVG")
    for size in SIZES:
        render(renderer, size, HERE / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png")
    PACKAGE_ICONS.mkdir(parents=True, exist_ok=True)
    shutil.copy(SVG, PACKAGE_ICONS / "ferdesk.svg")
    render(renderer, 256, PACKAGE_ICONS / "ferdesk-256.png")
    print(f"rendered {len(SIZES)} sizes into {HERE / 'icons' / 'hicolor'} and the window icon into {PACKAGE_ICONS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
