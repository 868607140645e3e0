"""Write docs/models.md: every classifier's size, parameters, PublicTest accuracy and latency per
backend, with deltas against its FP32 parent.

usage: python tools/model_table.py [--runs 300] [--rounds 3] [--latency-from experiments/results/models-latency.json] [--out docs/models.md]

Accuracy comes from the catalog (written by tools/measure_models.py); latency from
``ferdesk bench --json --threads 1 --rounds 3`` run here and now (each pair in its own process, the
whole sweep three times, each figure the median of the three). The timings, with the CPU they were
taken on, are kept beside the table (experiments/results/models-latency.json for docs/models.md). ``--latency-from`` rebuilds the table from such a file
instead of timing again: for new accuracy figures of files whose graphs are unchanged (weights
retrained in the same architecture and quantised the same way), when this machine is not the one the
table was timed on. Models the file does not hold get no latency.
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from ferdesk.training.catalogs import repo_catalog  # noqa: E402
from ferdesk.doctor import cpu_facts  # noqa: E402


def timings_path(table: Path) -> Path:
    """Where a timed run keeps its timings: experiments/results/ for the repository's docs/models.md, else
    beside the table."""
    if table.resolve().parent == (ROOT / "docs").resolve():
        return ROOT / "experiments" / "results" / f"{table.stem}-latency.json"
    return table.with_name(f"{table.stem}-latency.json")


def cpu_flags() -> list[str]:
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "asimddp", "fphp")
    flags = cpu_facts()[1]
    return [f for f in wanted if f in flags]


# the zoo's tiers (issue 3): file bytes, PublicTest accuracy, ONNX Runtime ms p50 per face on one thread
TIER_TARGETS = {
    "tiny": {"max_bytes": 100_000, "min_accuracy": 0.67, "max_ms": None},
    "balanced": {"max_bytes": 1_000_000, "min_accuracy": 0.70, "max_ms": 1.0},
    "best": {"max_bytes": 10_000_000, "min_accuracy": 0.72, "max_ms": 5.0},
}


def tier_rows(cat, bench: dict) -> list[str]:
    """One row per tier: the catalog model marked with it, each target and whether it is met."""
    rows = ["| tier | model | file (target) | PublicTest (target) | ONNX Runtime ms p50 (target) | targets |",
            "|---|---|---|---|---|---|"]
    for tier, t in TIER_TARGETS.items():
        m = next((m for m in cat.by_task("classifier") if m.get("tier") == tier), None)
        if m is None:
            rows.append(f"| {tier} | none marked | | | | |")
            continue
        size = m.primary.size_bytes
        acc = m.get("metrics", {}).get("fer2013_publictest_accuracy")
        r = bench.get((m.name, "onnxruntime"))
        ms = r["latency_ms_p50"] if r else None
        checks = [size <= t["max_bytes"], acc is not None and acc >= t["min_accuracy"]]
        if t["max_ms"] is not None:
            checks.append(ms is not None and ms <= t["max_ms"])
        missed = [what for what, ok in zip(("size", "accuracy", "latency"), checks) if not ok]
        acc_cell = "-" if acc is None else f"{acc:.2%}"
        ms_cell = ("-" if ms is None else f"{ms:.3f}") + (f" (<= {t['max_ms']:g})" if t["max_ms"] else "")
        verdict = "met" if not missed else "missed: " + ", ".join(missed)
        rows.append(f"| {tier} | {m.name} | {size / 1000:.0f} kB (<= {t['max_bytes'] / 1000:.0f} kB) "
                    f"| {acc_cell} (>= {t['min_accuracy']:.0%}) | {ms_cell} | {verdict} |")
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--latency-from", type=Path, metavar="JSON",
                    help="reuse the timings stored by an earlier run (experiments/results/models-latency.json) instead of timing here")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "models.md")
    a = ap.parse_args(argv)
    if a.latency_from:
        try:
            timing = json.loads(a.latency_from.read_text())
        except (OSError, ValueError) as e:
            ap.error(f"cannot read timings from {a.latency_from}: {e}")
    else:
        out = subprocess.run([sys.executable, "-m", "ferdesk", "bench", "--json", "--threads", "1", "--runs", str(a.runs),
                              "--rounds", str(a.rounds), "--models", str(ROOT / "models")],
                             capture_output=True, text=True, check=True, cwd=ROOT)
        timing = {"cpu": cpu_facts()[0], "machine": platform.machine(), "flags": cpu_flags(), "rounds": a.rounds,
                  "runs": a.runs, "results": [r for r in json.loads(out.stdout) if "latency_ms_p50" in r]}
        timings_path(a.out).parent.mkdir(parents=True, exist_ok=True)
        timings_path(a.out).write_text(json.dumps(timing, indent=1) + "\n")
    bench = {(r["model"], r["backend"]): r for r in timing["results"]}
    cat = repo_catalog(ROOT / "models")
    rows = []
    for m in cat.by_task("classifier"):
        parent = cat.get(m.get("compressed_from")) if m.get("compressed_from") else m
        acc = m.get("metrics", {}).get("fer2013_publictest_accuracy")
        pacc = parent.get("metrics", {}).get("fer2013_publictest_accuracy")
        size, psize = m.primary.size_bytes, parent.primary.size_bytes
        lat = {b: bench.get((m.name, b)) for b in ("onnxruntime", "litert")}
        plat = bench.get((parent.name, "onnxruntime"))
        d_acc = f" ({(acc - pacc) * 100:+.2f})" if acc is not None and pacc is not None and m is not parent else ""
        d_size = f" ({size / psize:.2f}x)" if m is not parent else ""
        ort = lat["onnxruntime"]
        d_lat = f" ({ort['latency_ms_p50'] / plat['latency_ms_p50']:.2f}x)" if ort and plat and m is not parent else ""
        ort_cell = "-" if not ort else f"{ort['latency_ms_p50']:.3f} / {ort['latency_ms_p95']:.3f}{d_lat}"
        lite = lat["litert"]
        lite_cell = "-" if not lite else f"{lite['latency_ms_p50']:.3f} / {lite['latency_ms_p95']:.3f}"
        acc_cell = "-" if acc is None else f"{acc:.2%}{d_acc}"
        installed = "package" if m.origin == "bundled" else "zoo pack"
        rows.append(f"| {m.name} | {m.primary.precision} | {installed} | {size / 1024:.0f} KB{d_size} | {m.get('params', 0):,} "
                    f"| {acc_cell} | {ort_cell} | {lite_cell} |")
    findings = []
    for m in cat.by_task("classifier"):
        parent = m.get("compressed_from")
        mine, theirs = bench.get((m.name, "onnxruntime")), bench.get((parent, "onnxruntime")) if parent else None
        if mine and theirs:
            findings.append(f"- {m.name}: {m.primary.size_bytes / cat.get(parent).primary.size_bytes:.2f}x the file, "
                            f"{mine['latency_ms_p50'] / theirs['latency_ms_p50']:.2f}x the ONNX Runtime latency of {parent} here.")
    reused = f", timings reused from {a.latency_from.as_posix()}" if a.latency_from else ""
    text = "\n".join([
        "# Classifiers",
        "",
        "Generated by `python tools/model_table.py`; accuracy by `python tools/measure_models.py`",
        "(`ferdesk eval` on FER2013 PublicTest, n=3589). Latency: one face, one CPU thread, ms p50 / p95,",
        f"each the median over {timing['rounds']} sweeps of `ferdesk bench` (every pair in its own process, pair after pair),",
        f"measured on {timing['cpu']} ({timing['machine']}){reused}. Deltas are against the FP32 model the variant comes from.",
        "Installed with: the package (`pip install ferdesk`) or the research zoo pack (`pip install ./models`).",
        "How each model was trained, with the commands: [../experiments/training-log.md](../experiments/training-log.md).",
        "",
        "| model | precision | installed with | file | params | PublicTest | ONNX Runtime ms | LiteRT ms |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        *findings,
        "",
        "## Tiers",
        "",
        "The zoo's tiers and their targets; the model marked with each tier in the catalog (`tier`),",
        "its measured figures (kB = 1000 bytes) and whether every target is met.",
        "",
        *tier_rows(cat, bench),
        "",
        f"This CPU's vector extensions: {', '.join(timing['flags']) or 'unknown'}. INT8 speed depends on integer",
        "dot-product instructions (VNNI on x86, SDOT/UDOT on ARMv8.2+ boards); where they are missing it gains",
        "little beyond the smaller file. INT4 files hold 4-bit weights and compute in float (ferdesk's engine",
        "folds the weights once at load): they pay in file size only, at about the FP32 model's speed.",
        "Every figure above is from this machine: rerun the script on a board.",
        "On a shared virtual machine a single sweep's figures moved by a third between runs of this script;",
        "the median over sweeps damps that, but compare rows of one run (the deltas above are within one run).",
        "",
    ])
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
