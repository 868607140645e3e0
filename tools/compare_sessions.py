"""Compare session logs of the same runs made on two machines (x86-64 and emulated aarch64).

usage: python tools/compare_sessions.py REFERENCE_DIR OTHER_DIR [--prob-tol 0.01] [--box-tol 2]
       python tools/compare_sessions.py --make-clip OUT.mp4

Each sub-folder of REFERENCE_DIR is a session (frames.csv); the one of the same name in OTHER_DIR must have
the same faces (frame, face id) with the same labels, probabilities within ``--prob-tol`` and boxes within
``--box-tol`` pixels. The Haar cascade's boxes move several pixels under emulation (its integer image
arithmetic differs), so its crops and with them its probabilities move more: ``--cascade-box-tol`` and
``--cascade-prob-tol``, with the labels still required to be the same.
``--make-clip`` writes the short clip both machines run: two faces cut from the demo portrait, drifting.
Exit status 1 when a run differs or is missing.
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path


def read_rows(path: Path) -> tuple[list[str], dict]:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    return header, {(r[0], r[3]): r for r in rows[1:]}


def compare(ref: Path, other: Path, prob_tol: float, box_tol: float) -> list[str]:
    header, a = read_rows(ref / "frames.csv")
    header_b, b = read_rows(other / "frames.csv")
    if header != header_b:
        return ["the columns differ"]
    problems = []
    if set(a) != set(b):
        problems.append(f"faces differ: {len(set(a) - set(b))} only in the reference, {len(set(b) - set(a))} only in the other")
    probs = [i for i, c in enumerate(header) if c.startswith("p_")]
    boxes = [header.index(c) for c in ("x", "y", "w", "h")]
    label = header.index("label")
    worst_p = worst_box = 0.0
    for key in sorted(set(a) & set(b)):
        ra, rb = a[key], b[key]
        if ra[label] != rb[label]:
            problems.append(f"frame {key[0]} face {key[1]}: {ra[label]} here, {rb[label]} there")
        worst_p = max(worst_p, max(abs(float(ra[i]) - float(rb[i])) for i in probs))
        worst_box = max(worst_box, max(abs(float(ra[i]) - float(rb[i])) for i in boxes))
    if worst_p > prob_tol:
        problems.append(f"probabilities differ by up to {worst_p:.4f} (tolerance {prob_tol})")
    if worst_box > box_tol:
        problems.append(f"boxes differ by up to {worst_box:.1f} px (tolerance {box_tol})")
    print(f"{ref.name}: {len(a)} faces here, {len(b)} there; largest differences: probabilities {worst_p:.4f}, "
          f"boxes {worst_box:.1f} px -> {'same' if not problems else 'DIFFERENT'}")
    return problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("reference", nargs="?", type=Path)
    ap.add_argument("other", nargs="?", type=Path)
    ap.add_argument("--prob-tol", type=float, default=0.01)
    ap.add_argument("--box-tol", type=float, default=3.0)
    ap.add_argument("--cascade-box-tol", type=float, default=8.0)
    ap.add_argument("--cascade-prob-tol", type=float, default=0.05)
    ap.add_argument("--make-clip", type=Path, metavar="OUT")
    a = ap.parse_args(argv)
    if a.make_clip:
        from ferdesk.sources.demo import compose_two_face_clip

        compose_two_face_clip(a.make_clip)
        return 0
    if not a.reference or not a.other:
        ap.error("give two folders of sessions, or --make-clip")
    failed = False
    runs = sorted(p for p in a.reference.iterdir() if (p / "frames.csv").is_file())
    if not runs:
        print(f"no sessions in {a.reference}")
        return 1
    for run in runs:
        other = a.other / run.name
        if not (other / "frames.csv").is_file():
            print(f"{run.name}: missing in {a.other}")
            failed = True
            continue
        cascade = "cascade" in run.name
        for p in compare(run, other, a.cascade_prob_tol if cascade else a.prob_tol,
                         a.cascade_box_tol if cascade else a.box_tol):
            print(f"  {p}")
            failed = True
    print(f"{len(runs)} runs compared: {'all the same' if not failed else 'differences found'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
