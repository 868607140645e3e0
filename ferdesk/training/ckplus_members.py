"""Ensembles of the members of one CK+ run, from the probabilities it saved (``ckplus --save-probs``).

usage: python -m ferdesk.training.ckplus_members build/ckplus/ensemble4.npz [more.npz ...] [--members 0,1]

Several files (runs over the same folds: same data, ``--folds`` and ``--seed``) join into one list of
members, in the order given.

Without ``--members``: one line per ensemble of the first k members (k = 1 .. all, in the order the
run was given them), so the order is fixed before the figures are seen and nothing is picked by
its test accuracy. Each figure is the mean over folds of the fold accuracies of the averaged
probabilities, as ``ckplus`` prints them; no training, seconds to run.
"""
from __future__ import annotations

import argparse

import numpy as np


def fold_accuracies(probs: np.ndarray, labels: np.ndarray, fold: np.ndarray) -> np.ndarray:
    """``probs`` (members, sequences, classes) -> accuracy per fold of their averaged probabilities."""
    hits = probs.mean(0).argmax(-1) == labels
    return np.array([hits[fold == k].mean() for k in np.unique(fold)])


def load_run(path: str) -> dict[str, np.ndarray]:
    try:
        with np.load(path) as saved:
            return {key: saved[key] for key in ("probs", "rows", "members", "labels", "fold")}
    except (OSError, ValueError, KeyError) as exc:
        raise SystemExit(f"ckplus_members: {path} is not a ckplus --save-probs file ({exc})") from None


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("probs", nargs="+", help="the .npz files ckplus --save-probs runs wrote")
    ap.add_argument("--members", help="comma-separated member indices (0-based) for one ensemble")
    a = ap.parse_args(argv)
    runs = [load_run(path) for path in a.probs]
    first = runs[0]
    for path, run in zip(a.probs[1:], runs[1:]):
        if not all(np.array_equal(first[key], run[key]) for key in ("labels", "fold", "rows")):
            raise SystemExit(f"ckplus_members: {path} is not a run over the same sequences, folds and rows as {a.probs[0]}")
    probs = np.concatenate([run["probs"] for run in runs])
    rows, members = [str(r) for r in first["rows"]], [str(m) for run in runs for m in run["members"]]
    labels, fold = first["labels"], first["fold"]
    if a.members:
        try:
            chosen = [[int(i) for i in a.members.split(",")]]
        except ValueError:
            raise SystemExit(f"ckplus_members: --members takes comma-separated indices, got {a.members!r}") from None
        if any(not 0 <= i < len(members) for i in chosen[0]):
            raise SystemExit(f"ckplus_members: the run has members 0 to {len(members) - 1}")
    else:
        chosen = [list(range(k)) for k in range(1, len(members) + 1)]
    for m, name in enumerate(members):
        print(f"member {m}: {name}")
    print("| members | " + " | ".join(r.split(" (")[0] for r in rows) + " |")
    print("|---|" + "---|" * len(rows))
    for subset in chosen:
        cells = [f"{fold_accuracies(probs[subset, r], labels, fold).mean():.2%}" for r in range(len(rows))]
        print(f"| {','.join(map(str, subset))} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
