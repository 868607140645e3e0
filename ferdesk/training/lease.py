"""Train several networks at once on one lent GPU machine, inside a fixed time budget.

usage: python -m ferdesk.training.lease --budget 470 --data DIR --out $OUT \\
           --run "fernet-l-s0: --arch fernet-l --seed 0 --amp bf16 --augment-on device" --run "..."

A lent GPU machine here runs one command for at most 10 minutes, and these networks are small
enough that one GPU trains eight of them at once. Each ``--run NAME: ARGS`` is a
``ferdesk.training.train_classifier`` command without ``--epochs``, ``--data`` and ``--out``:

1. probe: every run trains 2 epochs, all at once (the contention of the real thing), and the time of
   its second epoch is read off its history;
2. each run gets ``min(--max-epochs, budget / (1.1 x that time))`` epochs, and all start together into
   ``build/train/NAME`` (its summary records the exact command, epochs included);
3. the trained ``model.pt`` files are packed with their summaries and histories into tar files in
   ``--out``, each under the machine's 16 MiB per-file limit (a network whose float32 weights alone
   exceed it travels in float16, which its summary says). Unpack with ``tar -xf`` in the repo root.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import time
from pathlib import Path

LIMIT = 15 * 2**20


def parse_run(text: str) -> tuple[str, list[str]]:
    name, sep, args = text.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"--run {text!r}: give NAME: ARGS")
    return name.strip(), args.split()


def launch(name: str, args: list[str], epochs: int, data: Path, root: Path) -> subprocess.Popen:
    out = root / name
    out.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "ferdesk.training.train_classifier", *args, "--epochs", str(epochs),
           "--data", str(data), "--out", str(out)]
    return subprocess.Popen(cmd, stdout=open(out / "log.txt", "w"), stderr=subprocess.STDOUT)


def second_epoch_seconds(out: Path) -> float:
    history = [json.loads(line) for line in (out / "log.txt").read_text().splitlines() if line.startswith("{")]
    return history[1]["elapsed_s"] - history[0]["elapsed_s"]


def wait_all(procs: dict[str, subprocess.Popen], deadline: float) -> dict[str, int | None]:
    while any(p.poll() is None for p in procs.values()) and time.time() < deadline:
        time.sleep(2)
    for p in procs.values():
        if p.poll() is None:
            p.kill()
    return {name: p.wait() for name, p in procs.items()}


def pack(root: Path, names: list[str], out: Path) -> list[Path]:
    import torch

    groups, sizes = [[]], [0]
    for name in names:
        weights = root / name / "model.pt"
        if not weights.is_file():
            continue
        if weights.stat().st_size > LIMIT:
            state = torch.load(weights, map_location="cpu")
            torch.save({k: v.half() if v.is_floating_point() else v for k, v in state.items()}, weights)
            with open(root / name / "summary.txt", "a") as f:
                f.write("weights travelled from the GPU machine in float16\n")
        size = weights.stat().st_size + 200_000
        if sizes[-1] + size > LIMIT:
            groups.append([])
            sizes.append(0)
        groups[-1].append(name)
        sizes[-1] += size
    tars = []
    for i, group in enumerate(g for g in groups if g):
        path = out / f"weights-{i + 1}.tar"
        with tarfile.open(path, "w") as tar:
            for name in group:
                for f in ("model.pt", "summary.txt", "history.json", "log.txt"):
                    if (root / name / f).is_file():
                        tar.add(root / name / f, arcname=str(root / name / f))
        tars.append(path)
    return tars


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=parse_run, action="append", required=True, metavar="NAME: ARGS")
    ap.add_argument("--budget", type=float, required=True, help="seconds for the real runs, after the probe")
    ap.add_argument("--common", default="", metavar="ARGS", help="arguments added to every run's")
    ap.add_argument("--max-epochs", type=int, default=300)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--root", type=Path, default=Path("build/train"))
    a = ap.parse_args(argv)
    a.run = [(name, args + a.common.split()) for name, args in a.run]
    a.out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    probe_root = Path("build/probe")
    codes = wait_all({n: launch(n, args, 2, a.data, probe_root) for n, args in a.run}, time.time() + 120)
    plan = {}
    for name, args in a.run:
        if codes[name] != 0:
            print(f"{name}: probe failed (exit {codes[name]}):\n{(probe_root / name / 'log.txt').read_text()[-2000:]}")
            continue
        per_epoch = second_epoch_seconds(probe_root / name)
        plan[name] = min(a.max_epochs, int(a.budget / (1.1 * per_epoch)))
        print(f"{name}: {per_epoch:.2f} s per epoch in the probe -> {plan[name]} epochs", flush=True)
    start = time.time()
    procs = {n: launch(n, args, plan[n], a.data, a.root) for n, args in a.run if n in plan}
    codes = wait_all(procs, start + a.budget * 1.25)
    for name, code in codes.items():
        tail = (a.root / name / "log.txt").read_text().splitlines()[-1:] if (a.root / name / "log.txt").is_file() else []
        print(f"{name}: exit {code}; {' '.join(tail)}", flush=True)
        summary = a.root / name / "summary.txt"
        if summary.is_file():
            print(summary.read_text(), flush=True)
    for path in pack(a.root, list(procs), a.out):
        print(f"{path.name}: {path.stat().st_size} bytes", flush=True)
    print(f"lease done in {time.time() - t0:.0f} s (probe {start - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
