"""What each member of the bundled FP32 ensembles scores, with and without the mirror image, and
what every subset of their members would score.

usage: python experiments/ensemble_members.py [--model fernet-l4sm-x5 --model fernet-lm-x4]
           [--data ../shared/data/fer2013_publictest.npz] [--budget 10000000] [--top 5] [--add MODEL [--drop K]]

Each member's softmax is read out of the ensemble's FP32 ONNX file (no PyTorch weights needed).
The subsets (three or more members, parameters under --budget, so their INT8 file fits the best
tier) are scored on the same split: the best of several hundred subsets is a maximum over draws on
that split, not a measurement, so the median is printed beside it.

``--add MODEL`` (repeatable) instead scores each ``--model`` ensemble with the named classifiers as
further members (the mean of every member's softmax, no mirror): one planned trial per ensemble, no
subsets. Give files of one precision together (an INT8 ensemble with an INT8 member). ``--drop K``
(repeatable, with ``--add``) leaves member K (as numbered in the listing) out of each ensemble: a
member replaced by another network, again one planned trial.
"""
from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np
import onnx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from ferdesk.catalog import Catalog  # noqa: E402


def member_parameters(model: onnx.ModelProto, output: str) -> int:
    """Weights upstream of one member's softmax (the shared input normalisation included)."""
    producer = {o: n for n in model.graph.node for o in n.output}
    sizes = {t.name: int(np.prod(t.dims)) for t in model.graph.initializer}
    seen, stack, total = set(), [output], 0
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        total += sizes.get(name, 0)
        if name in producer:
            stack.extend(producer[name].input)
    return total


def member_probabilities(path: Path, images: np.ndarray, batch: int = 128) -> tuple[np.ndarray, list[int]]:
    """(views: face, mirror; members; N; classes) softmax of every member of an ONNX ensemble,
    and each member's parameter count."""
    import onnxruntime as ort

    model = onnx.load(str(path))
    names = [n.output[0] for n in model.graph.node if n.op_type == "Softmax"]
    params = [member_parameters(model, name) for name in names]
    for name in names:
        model.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feed = session.get_inputs()[0].name

    def run(x):
        parts = [session.run(names, {feed: x[i:i + batch]}) for i in range(0, len(x), batch)]
        return np.stack([np.concatenate([p[k] for p in parts]) for k in range(len(names))])

    return np.stack([run(images), run(np.ascontiguousarray(images[..., ::-1]))]), params


def accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    return 100 * float((probs.argmax(-1) == labels).mean())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", help="FP32 ensemble entries (default: fernet-l4sm-x5, fernet-lm-x4)")
    ap.add_argument("--data", default="../shared/data/fer2013_publictest.npz")
    ap.add_argument("--budget", type=int, default=10_000_000, help="most parameters a subset may hold")
    ap.add_argument("--top", type=int, default=5)
    ap.add_argument("--add", action="append", default=[], metavar="MODEL",
                    help="score each ensemble with this classifier as one more member (repeatable), instead of subsets")
    ap.add_argument("--drop", action="append", type=int, default=[], metavar="K",
                    help="with --add: leave member K of each ensemble out (repeatable), so the added model replaces it")
    a = ap.parse_args(argv)
    if a.drop and not a.add:
        ap.error("--drop needs --add (it scores a member replaced by another model)")
    catalog = Catalog.load(packs=[ROOT / "models"])
    d = np.load(a.data)
    labels = d["labels"]
    probs, names, params = [], [], []
    for name in a.model or ["fernet-l4sm-x5", "fernet-lm-x4"]:
        spec = catalog.get(name)
        images = spec.input.to_tensor(d["images"])
        p, each = member_probabilities(spec.primary.path, images)
        print(f"{name}: all members {accuracy(p[0].mean(0), labels):.2f}%, with the mirror {accuracy(p.mean((0, 1)), labels):.2f}%")
        for k in range(p.shape[1]):
            print(f"  member {k} ({each[k]:,} parameters): {accuracy(p[0, k], labels):.2f}%, with the mirror {accuracy(p[:, k].mean(0), labels):.2f}%")
            probs.append(p[:, k])
            names.append(f"{name}[{k}]")
            params.append(each[k])
    if a.add:
        return score_with_added(catalog, d, a.model or ["fernet-l4sm-x5", "fernet-lm-x4"], a.add, names, probs, a.drop)
    faces = np.stack(probs, axis=1)[0]
    scores = []
    for r in range(3, len(names) + 1):
        for subset in itertools.combinations(range(len(names)), r):
            if sum(params[i] for i in subset) <= a.budget:
                acc = accuracy(faces[list(subset)].mean(0), labels)
                scores.append((acc, [names[i] for i in subset]))
    scores.sort(key=lambda t: -t[0])
    print(f"{len(scores)} subsets of three or more members under {a.budget:,} parameters: "
          f"median {np.median([s for s, _ in scores]):.2f}%, best {scores[0][0]:.2f}% (a maximum over draws)")
    for acc, subset in scores[:a.top]:
        print(f"  {acc:.2f}%  {' + '.join(subset)}")
    return 0


def score_with_added(catalog, d, ensembles: list[str], added: list[str], names: list[str], probs: list,
                     dropped: list[int] = ()) -> int:
    """Each ensemble's members (faces only), less those numbered in ``dropped``, with every ``added``
    classifier as further members."""
    labels = d["labels"]
    extra = []
    for name in added:
        spec = catalog.get(name)
        p, _ = member_probabilities(spec.primary.path, spec.input.to_tensor(d["images"]))
        extra.extend(p[0])
        print(f"{name}: {accuracy(p[0].mean(0), labels):.2f}%")
    for ensemble in ensembles:
        members = [probs[i][0] for i, n in enumerate(names) if n.startswith(ensemble + "[")]
        missing = [k for k in dropped if not 0 <= k < len(members)]
        if missing:
            raise SystemExit(f"{ensemble} has members 0 to {len(members) - 1}, not {missing[0]}")
        own = [p for k, p in enumerate(members) if k not in dropped]
        less = f" - member {', '.join(map(str, sorted(set(dropped))))}" if dropped else ""
        print(f"{ensemble}{less} + {' + '.join(added)} ({len(own) + len(extra)} members): "
              f"{accuracy(np.mean(own + extra, axis=0), labels):.2f}% (alone: {accuracy(np.mean(members, axis=0), labels):.2f}%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
