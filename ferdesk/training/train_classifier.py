"""Train a FER2013 expression classifier on the CPU (or a GPU when one is present).

usage: python -m ferdesk.training.train_classifier --arch fernet-s --epochs 40 --out build/train/fernet-s
       python -m ferdesk.training.train_classifier --arch fernet-s --epochs 100 --amp bf16 \
           --teacher fernet-s=build/train/fernet-s/model.pt --teacher fernet-s=build/train/fernet-s-seed1/model.pt \
           --out build/train/fernet-s-kd
       python -m ferdesk.training.train_classifier --arch fernet-t --epochs 60 --teacher-model fernet-l4sm-x5-int8 \
           --kd-views 6 --view-bank build/view-banks/l4sm-x5-int8-6views-seed0.npz --out build/train/fernet-t-vkd

``--teacher`` (repeatable) distils from the mean of one or more trained networks: their softened
probabilities on every Training face (averaged with the mirrored face, so they agree with the flip
augmentation) are computed once before training, and the loss becomes
``(1 - alpha) * cross-entropy + alpha * T^2 * KL(teacher_T || student_T)``.
``--kd-online`` runs the teachers on every augmented (and mixed) batch the student sees instead of
using the precomputed targets: teacher and student then agree on exactly the same input ("consistent"
distillation), which pays with long schedules but costs a teacher forward pass per step.
``--teacher-model NAME`` distils from a bundled model (a catalog entry, ONNX Runtime) without its
training checkpoint and at the student's own cost per step: ``--kd-views`` augmented copies of every
Training face are drawn and scored once (``ferdesk.training.view_bank``), and each step trains on one
stored copy per face against the teacher's probabilities on that very copy.
``--mixup A`` mixes each batch with a shuffled copy of itself (weight drawn from Beta(A, A)).
``--amp bf16`` runs forward and backward passes in bfloat16 autocast (weights stay float32); on a
CPU with AVX-512 BF16 it is about 1.7x faster per step; where bfloat16 is emulated (AVX2 only) it
would be 7 to 12x slower, so training runs in float32 there and says so. ``--device auto`` (the default) trains on a
CUDA GPU when PyTorch sees one, else on the CPU; augmentation runs on the CPU from the seeded
generator, so the batches are the same on either. ``--augment-on device`` instead keeps the training
faces on the training device and augments each batch there from a generator seeded from ``--seed``
(still reproducible, but other batches than the CPU's): on a GPU the small networks here are
otherwise starved by the CPU-side augmentation.

Writes ``model.pt`` (state dict, not committed), ``history.json`` and ``summary.txt``; after every
epoch ``last.pt`` (the weights so far) and ``run-state.pt`` (all a killed run needs to go on: the same
command with ``--resume`` continues after the last finished epoch and ends with the same model).
Seeded: the same command gives the same model on the same machine and library versions.
"""
from __future__ import annotations

import argparse
import os
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ferdesk.training import weight_quant
from ferdesk.training.augment import augment
from ferdesk.training.nets import ARCHITECTURES, build, load, member, split_member
from ferdesk.training.view_bank import ViewBank, load_or_build

# the data sets (.npz): $FERDESK_DATA, else ../shared/data beside a checkout
DEFAULT_DATA = Path(os.environ.get("FERDESK_DATA") or Path(__file__).resolve().parents[2].parent / "shared" / "data")


def load_split(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    d = np.load(path)
    x = torch.from_numpy(d["images"]).float().div_(255).unsqueeze(1)
    y = torch.from_numpy(d["labels"].astype(np.int64))
    return x, y


def extra_alignment(paths: list[Path]) -> str | None:
    """The crop the ``--extra`` faces were cut with (``photo_crops`` records it: ``box`` or ``landmarks``;
    None for none or older files). A network trained on them runs well only with the same crop, so its
    export must declare it (``export --crop-alignment``); two different crops in one run are refused."""
    found = set()
    for path in paths:
        with np.load(path) as d:
            if "alignment" in d.files:
                found.add(str(d["alignment"]))
    if len(found) > 1:
        raise SystemExit(f"--extra files cut with different crops ({', '.join(sorted(found))}): use one crop")
    return found.pop() if found else None


def pick_device(name: str) -> torch.device:
    """``auto``: the CUDA GPU when PyTorch sees one, else the CPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: PyTorch sees no CUDA GPU here")
    return torch.device(name)


def native_bf16(device: torch.device) -> bool:
    """Whether bfloat16 autocast runs on hardware here: any CUDA GPU PyTorch uses, or a CPU with
    AVX-512 BF16 or AMX (oneDNN's own test). Elsewhere PyTorch emulates it."""
    return device.type == "cuda" or bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def usable_amp(amp: str, device: torch.device) -> str:
    """``amp`` unless it asks for bf16 where bfloat16 is emulated: then ``"off"``, with a one-line notice.
    Measured on an AVX2-only AMD EPYC (2 threads, batch 128): a training step of fernet-t took 1400 ms
    in bf16 autocast against 201 ms in float32, fernet-s 6015 ms against 513 ms."""
    if amp == "bf16" and not native_bf16(device):
        print("--amp bf16: this CPU has no native bfloat16 (AVX-512 BF16 or AMX), where autocast runs 7 to 12x "
              "slower than float32: training in float32 instead", flush=True)
        return "off"
    return amp


@torch.no_grad()
def evaluate(model, x, y, batch=512) -> float:
    model.eval()
    device = next(model.parameters()).device
    correct = 0
    for i in range(0, len(x), batch):
        xb = x[i:i + batch].to(device).contiguous(memory_format=torch.channels_last)
        correct += (model(xb).argmax(1).cpu() == y[i:i + batch]).sum().item()
    return correct / len(x)


@dataclass(frozen=True)
class Distillation:
    """Soft targets for every training face (rows follow the training set) and how to weigh them.
    With ``teachers`` (online distillation) the targets are computed per batch from those networks
    on the very input the student sees, and ``targets`` is unused."""
    targets: torch.Tensor | None
    alpha: float = 0.5
    temperature: float = 3.0
    teachers: tuple = ()
    bank: ViewBank | None = None  # stored augmented views with the teacher's probabilities on each

    def soft_targets(self, idx: torch.Tensor, xb: torch.Tensor, mix, views: torch.Tensor | None = None) -> torch.Tensor:
        """Teacher probabilities at temperature T for the batch (rows ``idx`` of the training set, input ``xb``);
        ``mix``: None, or (lam, perm) when the batch was mixed with a shuffled copy of itself; ``views``: which
        stored view of each face ``xb`` is, with a view bank."""
        if self.bank is not None:
            return self.bank.soft_targets(idx, views, self.temperature).to(xb.device)
        if self.teachers:
            with torch.no_grad():
                return sum(torch.softmax(t(xb).float() / self.temperature, dim=1) for t in self.teachers) / len(self.teachers)
        targets = self.targets[idx].to(xb.device)
        if mix is not None:
            lam, perm = mix
            targets = lam * targets + (1 - lam) * targets[perm]
        return targets


@torch.no_grad()
def teacher_targets(teachers: list[tuple[str, Path]], x: torch.Tensor, temperature: float, batch: int = 512) -> torch.Tensor:
    """Mean softened probabilities of the teacher networks on ``x`` and its mirror image."""
    total = torch.zeros(len(x), 7)
    for arch, weights in teachers:
        net = load(arch, weights)
        for i in range(0, len(x), batch):
            xb = x[i:i + batch]
            for view in (xb, torch.flip(xb, dims=[3])):
                total[i:i + batch] += torch.softmax(net(view) / temperature, dim=1)
    return total / (2 * len(teachers))


def catalog_teacher_targets(name: str, x: torch.Tensor, temperature: float, threads: int = 2,
                            batch: int = 512) -> torch.Tensor:
    """A catalog classifier's probabilities on ``x`` ((N, 1, 48, 48) in [0, 1]), softened to ``temperature``:
    p ** (1/T), renormalised (exactly softmax(logits / T) for a single network; for an ensemble file, of the
    members' mean)."""
    from ferdesk.catalog import Catalog
    from ferdesk.classifier import Classifier

    from ferdesk.training.catalogs import zoo_dir

    zoo = zoo_dir()   # the bundled set, plus the research zoo where there is one (a checkout, $FERDESK_ZOO)
    clf = Classifier(Catalog.load(packs=[zoo] if (zoo / "catalog.json").is_file() else []).get(name), threads=threads)
    faces = (x[:, 0] * 255).round().to(torch.uint8).numpy()
    probs = np.concatenate([clf.classify(faces[i:i + batch]) for i in range(0, len(faces), batch)])
    soft = np.clip(probs, 1e-8, 1) ** (1 / temperature)
    return torch.from_numpy(soft / soft.sum(1, keepdims=True)).float()


def initial_network(arch: str, weights: str, xtr: torch.Tensor, seed: int):
    """The network ``arch`` with trained ``weights`` to fine-tune (see ``--init``)."""
    if not split_member(weights)[0].is_file():
        raise SystemExit(f"--init: no weights file at {weights}")
    faces = xtr[torch.randperm(len(xtr), generator=torch.Generator().manual_seed(seed))[:1024]]
    try:
        return load(arch, weights, calibration=faces)
    except Exception as e:  # a wrong architecture (ValueError, RuntimeError) or an unreadable file (protobuf, pickle)
        raise SystemExit(f"--init {weights}: {(str(e).strip().splitlines() or [type(e).__name__])[0]}") from None


def distillation_flags(teachers, alpha: float, temperature: float) -> str:
    """The command-line flags that name ``teachers`` and the distillation weights (empty without teachers),
    as the training summaries record them."""
    if not teachers:
        return ""
    return "".join(f" --teacher {arch}={w}" for arch, w in teachers) + f" --kd-alpha {alpha} --kd-temperature {temperature}"


def parse_teacher(text: str) -> tuple[str, Path]:
    try:
        arch, weights = member(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"--teacher: {e}") from None
    if not split_member(weights)[0].is_file():
        raise argparse.ArgumentTypeError(f"--teacher: no weights file at {weights}")
    return arch, Path(weights)


def fit(model, xtr, ytr, xva, yva, epochs: int, gen: torch.Generator, batch: int = 128, lr: float = 0.1,
        label_smoothing: float = 0.1, warmup: float = 0.15, checkpoint: Path | None = None,
        distillation: Distillation | None = None, amp: str = "off", mixup: float = 0.0,
        augment_on: str = "cpu", run_state: Path | None = None, run_flags: dict | None = None,
        resume: bool = False, camera_p: float = 0.0, freeze_bn: bool = False) -> list[dict]:
    """SGD + Nesterov with a one-cycle schedule on augmented batches; PublicTest accuracy after each
    epoch (reported, never used to pick a model). Trains where ``model`` lives (CPU or GPU); batches
    are augmented on the CPU from ``gen``, or with ``augment_on="device"`` where the model lives, from
    a generator there seeded from ``gen``. Returns the per-epoch history.

    After each epoch ``checkpoint`` gets the network's weights and ``run_state`` everything the run
    needs to go on (weights, optimizer, schedule, random generators, history and ``run_flags``);
    ``resume=True`` picks the run up from ``run_state`` after its last finished epoch, so a killed run
    ends with the same model as an uninterrupted one."""
    device = next(model.parameters()).device
    source, labels, aug_gen = xtr, ytr, gen
    bank = distillation.bank if distillation is not None else None
    if bank is not None and (mixup > 0 or augment_on == "device"):
        raise ValueError("a view bank brings its own augmented faces: no mixup or device augmentation with it")
    if augment_on == "device":
        source, labels = xtr.to(device), ytr.to(device)
        aug_gen = torch.Generator(device=device).manual_seed(int(torch.randint(2**62, (1,), generator=gen)))
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4, nesterov=True)
    steps = epochs * (len(xtr) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=warmup)
    history, first_epoch = [], 0
    if resume:
        history = restore_run(run_state, model, opt, sched, gen, aug_gen, run_flags)
        first_epoch = len(history)
        print(f"resuming after epoch {first_epoch} of {epochs} from {run_state}", flush=True)
    t0 = time.time() - (history[-1]["elapsed_s"] if history else 0.0)
    for epoch in range(first_epoch, epochs):
        model.train()
        if freeze_bn:   # fine-tuning: the batch norms keep the statistics the network was trained with
            for m in model.modules():
                if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                    m.eval()
        perm = torch.randperm(len(xtr), generator=gen)
        order = perm.to(source.device)
        total = torch.zeros((), device=device)
        for i in range(len(xtr) // batch):
            idx, rows = perm[i * batch:(i + 1) * batch], order[i * batch:(i + 1) * batch]
            views = None
            if bank is not None:
                views = torch.randint(bank.views, (len(idx),), generator=gen)
                xb, yb = bank.faces(idx, views), labels[rows]
            else:
                xb, yb = augment(source[rows], aug_gen, camera_p), labels[rows]
            mix = None
            if mixup > 0:
                lam = _beta(mixup, gen)
                shuffle = torch.randperm(len(idx), generator=gen)
                xb = lam * xb + (1 - lam) * xb[shuffle.to(xb.device)]
                mix = (lam, shuffle.to(device))
            xb = xb.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
            yb = yb.to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp == "bf16"):
                logits = model(xb)
                soft = distillation.soft_targets(idx, xb, mix, views) if distillation is not None else None
            logits = logits.float()
            if mix is None:
                loss = F.cross_entropy(logits, yb, label_smoothing=label_smoothing)
            else:
                lam, shuffle = mix
                loss = (lam * F.cross_entropy(logits, yb, label_smoothing=label_smoothing)
                        + (1 - lam) * F.cross_entropy(logits, yb[shuffle], label_smoothing=label_smoothing))
            if distillation is not None:
                t = distillation.temperature
                kd = F.kl_div(F.log_softmax(logits / t, dim=1), soft, reduction="batchmean") * t * t
                loss = (1 - distillation.alpha) * loss + distillation.alpha * kd
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.detach()
        acc = evaluate(model, xva, yva) if xva is not None else None
        history.append({"epoch": epoch + 1, "loss": total.item() / (i + 1), "public_test_acc": acc, "elapsed_s": time.time() - t0})
        print(json.dumps(history[-1]), flush=True)
        if checkpoint:  # plain keys even while training against 4-bit weights, so it loads like model.pt
            _save_atomically(weight_quant.plain_state_dict(model), checkpoint)
        if run_state:
            _save_atomically({"model": model.state_dict(), "optimizer": opt.state_dict(), "schedule": sched.state_dict(),
                              "generator": gen.get_state(), "augment_generator": aug_gen.get_state(),
                              "torch_rng": torch.get_rng_state(), "history": history, "flags": run_flags or {}},
                             run_state)
    return history


def _save_atomically(obj, path: Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename it: a run killed while saving
    leaves the previous file whole."""
    partial = path.with_name(path.name + ".partial")
    torch.save(obj, partial)
    partial.replace(path)


class ResumeError(ValueError):
    """The run state cannot continue this run (missing, unreadable, or made with other flags)."""


def restore_run(path: Path, model, opt, sched, gen: torch.Generator, aug_gen: torch.Generator,
                flags: dict | None) -> list[dict]:
    """Load the run state that ``fit`` saved at ``path`` into the given objects; its history.
    (``main`` checks that the file exists before the costly set-up, with its own message.)"""
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # missing, truncated or foreign
        raise ResumeError(f"--resume: cannot read the run state {path}: {e}") from None
    saved, flags = state.get("flags", {}), flags or {}
    changed = sorted(k for k in set(saved) | set(flags) if saved.get(k) != flags.get(k))
    if changed:
        k = changed[0]
        raise ResumeError(f"--resume: {path} was trained with {k}={saved.get(k)!r}, not {flags.get(k)!r}; "
                          "resume with the run's own flags")
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    sched.load_state_dict(state["schedule"])
    gen.set_state(state["generator"])
    if aug_gen is not gen:
        aug_gen.set_state(state["augment_generator"])
    torch.set_rng_state(state["torch_rng"])
    return state["history"]


def public_test_line(history: list[dict]) -> str:
    """The summary's PublicTest line: the last epoch's accuracy and the best epoch's (reported, never used to pick)."""
    if history[-1]["public_test_acc"] is None:
        return "final PublicTest accuracy=not evaluated (no fer2013_publictest.npz where it trained)"
    best = max(history, key=lambda h: h["public_test_acc"])
    return (f"final PublicTest accuracy={history[-1]['public_test_acc']:.4f} "
            f"(best epoch {best['epoch']}: {best['public_test_acc']:.4f})")


def score_only(arch: str, out: Path, public_test: Path, threads: int) -> None:
    """Score ``out/model.pt`` on PublicTest and put the figure into ``out/summary.txt`` in place of
    the 'not evaluated' line (the per-epoch figures of such a run stay unknown)."""
    torch.set_num_threads(threads)
    xva, yva = load_split(public_test)
    acc = evaluate(load(arch, out / "model.pt"), xva, yva)
    line = f"final PublicTest accuracy={acc:.4f} (scored after training with --score-only on the CPU; no per-epoch figures)"
    summary = out / "summary.txt"
    lines = summary.read_text().splitlines()
    lines = [line if ln.startswith("final PublicTest accuracy=") else ln for ln in lines]
    summary.write_text("\n".join(lines) + "\n")
    print(line)


def _beta(alpha: float, gen: torch.Generator) -> float:
    """A draw from Beta(alpha, alpha) made from ``gen`` (torch.distributions takes no generator):
    Johnk's method, exact for any alpha > 0."""
    while True:
        u, v = torch.rand(2, generator=gen).clamp_min(1e-12).tolist()
        x, y = u ** (1 / alpha), v ** (1 / alpha)
        if 0 < x + y <= 1:
            return x / (x + y)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", default="fernet-s", choices=sorted(ARCHITECTURES))
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--label-smoothing", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--amp", choices=["off", "bf16"], default="off", help="bfloat16 autocast for training steps")
    ap.add_argument("--teacher", type=parse_teacher, action="append", default=[], metavar="ARCH=WEIGHTS",
                    help="distil from this trained network (repeat for an ensemble teacher)")
    ap.add_argument("--kd-alpha", type=float, default=0.5)
    ap.add_argument("--kd-temperature", type=float, default=3.0)
    ap.add_argument("--kd-online", action="store_true",
                    help="run the teachers on each augmented batch instead of precomputed targets")
    ap.add_argument("--init", metavar="WEIGHTS",
                    help="start from these trained weights instead of random ones (fine-tuning; use a lower --lr): a "
                         "state dict, or a bundled FP32 ONNX file of the same architecture (file.onnx, file.onnx#k for "
                         "member k of an ensemble), its batch norms rebuilt from 1,024 Training faces")
    ap.add_argument("--teacher-model", metavar="NAME",
                    help="distil from this bundled model (a catalog entry, run with ONNX Runtime) on a bank of "
                         "augmented views of every Training face, each scored once before training")
    ap.add_argument("--teacher-probs", metavar="NAME",
                    help="distil from this catalog model's probabilities on every training face, computed once with "
                         "ONNX Runtime (no checkpoint needed; an INT8 ensemble is quick), softened to --kd-temperature")
    ap.add_argument("--kd-views", type=int, default=6, help="augmented views per face in the bank (with --teacher-model)")
    ap.add_argument("--view-bank", type=Path, metavar="FILE.npz",
                    help="keep the bank in this file: reused when it holds the same model and views (400 MB for 6 views)")
    ap.add_argument("--four-bit-weights", action="store_true",
                    help="train against 4-bit weights (ferdesk.training.weight_quant; usually a short fine-tune with "
                         "--init and a low --lr): model.pt then holds the 4-bit values, for compress --variants int4")
    ap.add_argument("--mixup", type=float, default=0.0, metavar="ALPHA", help="mixup with weight ~ Beta(ALPHA, ALPHA); 0: off")
    ap.add_argument("--extra", type=Path, action="append", default=[], metavar="FILE.npz",
                    help="more training faces (an .npz like FER2013's, for instance ferdesk.training.photo_crops' real "
                         "photographs), mixed into every epoch")
    ap.add_argument("--extra-repeat", type=int, default=1, metavar="K", help="each --extra face K times an epoch")
    ap.add_argument("--extra-per-class", type=int, default=0, metavar="N",
                    help="at most N --extra faces of each class (a seeded choice), so that the extra set's own class "
                         "shares (a photo collection's, not a camera's) do not become the model's prior; 0: all")
    ap.add_argument("--camera-aug", type=float, default=0.0, metavar="P",
                    help="camera effects (resolution, blur, gamma, noise: ferdesk.training.augment.camera) on a "
                         "fraction P of each batch (with --teacher-model, of the bank's views)")
    ap.add_argument("--freeze-bn", action="store_true",
                    help="keep every batch norm's running statistics (and use them) while training: for fine-tuning "
                         "on other data without shifting what the network learned from FER2013")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--augment-on", default="cpu", choices=["cpu", "device"],
                    help="augment batches on the CPU (default) or where the network trains (keeps a GPU busy)")
    ap.add_argument("--score-only", action="store_true",
                    help="train nothing: score OUT/model.pt on PublicTest and write the figure into OUT/summary.txt "
                         "(for runs trained where --data had no fer2013_publictest.npz)")
    ap.add_argument("--resume", action="store_true",
                    help="go on with the run in OUT after its last finished epoch (from OUT/run-state.pt, saved every "
                         "epoch); give the run's own flags: the result is the model the uninterrupted run makes")
    a = ap.parse_args(argv)
    if a.score_only:
        score_only(a.arch, a.out, a.data / "fer2013_publictest.npz", a.threads)
        return
    if a.kd_online and not a.teacher:
        ap.error("--kd-online needs at least one --teacher")
    if a.teacher_model and (a.teacher or a.mixup or a.augment_on != "cpu"):
        ap.error("--teacher-model distils on its own bank of augmented views: no --teacher, --mixup or --augment-on with it")
    if a.teacher_model and a.kd_views < 1:
        ap.error("--kd-views wants at least one view")

    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    gen = torch.Generator().manual_seed(a.seed)
    xtr, ytr = load_split(a.data / "fer2013_training.npz")
    alignment = extra_alignment(a.extra)
    for extra in a.extra:
        xe, ye = load_split(extra)
        if a.extra_per_class:
            pick = torch.Generator().manual_seed(a.seed)
            keep = torch.cat([idx[torch.randperm(len(idx), generator=pick)[:a.extra_per_class]]
                              for idx in (torch.nonzero(ye == c).flatten() for c in range(7))])
            xe, ye = xe[keep.sort().values], ye[keep.sort().values]
        print(f"--extra {extra}: {len(ye)} faces x {a.extra_repeat}", flush=True)
        xtr, ytr = torch.cat([xtr] + [xe] * a.extra_repeat), torch.cat([ytr] + [ye] * a.extra_repeat)
    public_test = a.data / "fer2013_publictest.npz"
    xva, yva = load_split(public_test) if public_test.is_file() else (None, None)
    if xva is None:
        print(f"no {public_test}: PublicTest is not evaluated during training (score later with --score-only)", flush=True)
    device = pick_device(a.device)
    a.amp = usable_amp(a.amp, device)
    run_state = a.out / "run-state.pt"
    if a.resume and not run_state.is_file():
        raise SystemExit(f"--resume: no run state at {run_state} (runs made before --resume existed keep only last.pt)")
    # a resumed run loads its weights from the run state, so its --init file need not be there any more
    model = build(a.arch) if a.init is None or a.resume else initial_network(a.arch, a.init, xtr, a.seed)
    if a.four_bit_weights:
        weight_quant.attach(model)
    model = model.to(device, memory_format=torch.channels_last)
    a.out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    distillation = None
    if a.kd_online:
        teachers = tuple(load(arch, w).to(device, memory_format=torch.channels_last) for arch, w in a.teacher)
        distillation = Distillation(None, a.kd_alpha, a.kd_temperature, teachers)
    elif a.teacher_model:
        bank = load_or_build(a.view_bank, xtr, a.teacher_model, a.kd_views, a.seed + 1, a.threads, a.camera_aug)
        agree = (bank.probs.argmax(2) == ytr[:, None]).float().mean().item()
        print(f"view bank ready in {time.time() - t0:.0f}s; teacher agrees with the Training labels on {agree:.4f} "
              "of the views", flush=True)
        distillation = Distillation(None, a.kd_alpha, a.kd_temperature, bank=bank)
    elif a.teacher_probs:
        targets = catalog_teacher_targets(a.teacher_probs, xtr, a.kd_temperature, a.threads)
        agree = (targets.argmax(1) == ytr).float().mean().item()
        print(f"teacher targets from {a.teacher_probs} ready in {time.time() - t0:.0f}s; the teacher agrees with the "
              f"Training labels on {agree:.4f}", flush=True)
        distillation = Distillation(targets, a.kd_alpha, a.kd_temperature)
    elif a.teacher:
        targets = teacher_targets(a.teacher, xtr, a.kd_temperature)
        agree = (targets.argmax(1) == ytr).float().mean().item()
        print(f"teacher targets ready in {time.time() - t0:.0f}s; teacher agrees with the Training labels on {agree:.4f}", flush=True)
        distillation = Distillation(targets, a.kd_alpha, a.kd_temperature)
    try:
        history = fit(model, xtr, ytr, xva, yva, a.epochs, gen, batch=a.batch, lr=a.lr,
                      label_smoothing=a.label_smoothing, checkpoint=a.out / "last.pt", distillation=distillation,
                      amp=a.amp, mixup=a.mixup, augment_on=a.augment_on, run_state=run_state,
                      run_flags=run_flags(a), resume=a.resume, camera_p=a.camera_aug, freeze_bn=a.freeze_bn)
    except ResumeError as e:
        raise SystemExit(str(e)) from None
    if a.four_bit_weights:
        weight_quant.bake(model)
    torch.save({k: v.cpu() for k, v in model.state_dict().items()}, a.out / "model.pt")
    (a.out / "history.json").write_text(json.dumps(history, indent=1))
    params = sum(p.numel() for p in model.parameters())
    (a.out / "summary.txt").write_text(
        f"arch={a.arch} params={params} epochs={a.epochs} batch={a.batch} lr={a.lr} "
        f"label_smoothing={a.label_smoothing} seed={a.seed}\n"
        + public_test_line(history) + "\n"
        + (f"crop_alignment={alignment} (the --extra faces' crop: export with --crop-alignment {alignment})\n"
           if alignment else "")
        + f"train time={history[-1]['elapsed_s'] if a.resume else time.time() - t0:.0f}s device={device.type}"
        + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else f" threads={a.threads}") + "\n"
        f"command: python -m ferdesk.training.train_classifier --arch {a.arch} --epochs {a.epochs} --seed {a.seed}"
        + (f" --batch {a.batch}" if a.batch != 128 else "") + (f" --lr {a.lr}" if a.lr != 0.1 else "")
        + (f" --amp {a.amp}" if a.amp != "off" else "")
        + (f" --init {a.init}" if a.init else "")
        + (" --four-bit-weights" if a.four_bit_weights else "")
        + (f" --mixup {a.mixup}" if a.mixup else "")
        + (f" --augment-on {a.augment_on}" if a.augment_on != "cpu" else "")
        + "".join(f" --extra {e}" for e in a.extra) + (f" --extra-repeat {a.extra_repeat}" if a.extra else "")
        + (f" --extra-per-class {a.extra_per_class}" if a.extra_per_class else "")
        + (f" --camera-aug {a.camera_aug}" if a.camera_aug else "") + (" --freeze-bn" if a.freeze_bn else "")
        + distillation_flags(a.teacher, a.kd_alpha, a.kd_temperature)
        + (f" --teacher-model {a.teacher_model} --kd-views {a.kd_views} --kd-alpha {a.kd_alpha} "
           f"--kd-temperature {a.kd_temperature}" if a.teacher_model else "")
        + (" --kd-online" if a.kd_online else "")
        + (f" --teacher-probs {a.teacher_probs} --kd-alpha {a.kd_alpha} --kd-temperature {a.kd_temperature}"
           if a.teacher_probs else "")
        + f" --out {a.out}\n"
        + ("(resumed with --resume after an interruption: train time counts the epochs only)\n" if a.resume else "")
    )


def run_flags(a: argparse.Namespace) -> dict:
    """The flags that shape a run's model, as plain values: a resumed run must be given the same ones."""
    keep = ("arch", "epochs", "batch", "lr", "label_smoothing", "seed", "amp", "kd_alpha", "kd_temperature",
            "kd_online", "init", "teacher_model", "kd_views", "four_bit_weights", "mixup", "augment_on")
    flags = {k: getattr(a, k) for k in keep}
    if a.extra or a.camera_aug or a.freeze_bn:   # only where used, so that runs made before these flags still resume
        flags.update(freeze_bn=a.freeze_bn, teacher_probs=a.teacher_probs, extra=[str(e) for e in a.extra], extra_repeat=a.extra_repeat, camera_aug=a.camera_aug,
                     extra_per_class=a.extra_per_class)
    flags["teacher"] = [f"{arch}={weights}" for arch, weights in a.teacher]
    return flags


if __name__ == "__main__":
    main()
