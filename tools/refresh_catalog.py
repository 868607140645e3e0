"""Refresh size_bytes and sha256 of every file in the catalogs (bundled set and zoo) from the files on disk.

usage: python tools/refresh_catalog.py [--check]
With --check, exit non-zero (listing the differences) instead of writing.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from ferdesk.catalog import file_digest  # noqa: E402
from ferdesk.training.catalogs import CatalogStore  # noqa: E402


def main(argv: list[str]) -> int:
    store = CatalogStore(zoo=ROOT / "models" / "catalog.json")
    doc = store.document()
    problems = []
    for model in doc["models"]:
        for f in model.get("files", []):
            path = store.folder(model["name"]) / f["path"]
            size, digest = path.stat().st_size, file_digest(path)
            if (f.get("size_bytes"), f.get("sha256")) != (size, digest):
                problems.append(f"{model['name']}: {f['path']}")
            f["size_bytes"], f["sha256"] = size, digest
        if model.get("files"):
            primary = model["files"][0]
            model["file"], model["format"], model["size_bytes"] = primary["path"], primary["format"], primary["size_bytes"]
    if "--check" in argv:
        for p in problems:
            print(f"out of date: {p}")
        return 1 if problems else 0
    store.save(doc)
    print(f"refreshed {', '.join(map(str, store.paths))} ({len(problems)} file entries changed)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
