"""Pack FER2013 splits small enough to travel to a lent GPU machine, and unpack them there.

The ``.npz`` files hold raw uint8 faces (64 MB for Training), and a GPU lease here takes at most
64 MiB of working tree. Each face is stored as lossless WebP (about 72% of the raw bytes; zlib saves
almost nothing on these faces), so the unpacked arrays are bit-identical to the originals.

usage: python -m ferdesk.training.portable_data pack ../shared/data build/gpu-data [--splits training,publictest]
       python -m ferdesk.training.portable_data unpack build/gpu-data /tmp/data
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

SUFFIX = ".webp.npz"


def pack(src: Path, dst: Path, splits=("training", "publictest")) -> list[Path]:
    dst.mkdir(parents=True, exist_ok=True)
    written = []
    for split in splits:
        d = np.load(src / f"fer2013_{split}.npz")
        blobs = []
        for face in d["images"]:
            ok, buf = cv2.imencode(".webp", face, [cv2.IMWRITE_WEBP_QUALITY, 101])  # > 100: lossless
            if not ok:
                raise SystemExit(f"could not encode a face of {split} as WebP")
            blobs.append(buf.ravel())
        ends = np.cumsum([len(b) for b in blobs])
        path = dst / f"fer2013_{split}{SUFFIX}"
        np.savez(path, blob=np.concatenate(blobs), ends=ends, labels=d["labels"])
        written.append(path)
    return written


def unpack(src: Path, dst: Path) -> list[Path]:
    dst.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(src.glob(f"*{SUFFIX}")):
        d = np.load(path)
        blob, ends = d["blob"], d["ends"]
        starts = np.concatenate([[0], ends[:-1]])
        faces = np.stack([cv2.imdecode(blob[s:e], cv2.IMREAD_GRAYSCALE) for s, e in zip(starts, ends)])
        out = dst / path.name.replace(SUFFIX, ".npz")
        np.savez(out, images=faces, labels=d["labels"])
        written.append(out)
    return written


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", choices=["pack", "unpack"])
    ap.add_argument("src", type=Path)
    ap.add_argument("dst", type=Path)
    ap.add_argument("--splits", default="training,publictest")
    a = ap.parse_args(argv)
    paths = pack(a.src, a.dst, a.splits.split(",")) if a.action == "pack" else unpack(a.src, a.dst)
    for p in paths:
        print(f"{p} {p.stat().st_size} bytes")


if __name__ == "__main__":
    main()
