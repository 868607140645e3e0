"""Ensembles of the members of one CK+ run, from the probabilities it saved (``ckplus --save-probs``).

usage: python -m ferdesk.training.ckplus_members build/ckplus/ensemble4.npz [--members 0,1]

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


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("probs", help="the .npz a ckplus --save-probs run wrote")
    ap.add_argument("--members", help="comma-separated member indices (0-based) for one ensemble")
    a = ap.parse_args(argv)
    try:
        saved = np.load(a.probs)
        probs, rows, members = saved["probs"], [str(r) for r in saved["rows"]], [str(m) for m in saved["members"]]
        labels, fold = saved["labels"], saved["fold"]
    except (OSError, ValueError, KeyError) as exc:
        raise SystemExit(f"ckplus_members: {a.probs} is not a ckplus --save-probs file ({exc})") from None
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
