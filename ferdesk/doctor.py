"""What this machine is and what ferdesk should run on it. No Qt import (the Qt plugins are checked with ldd).

``machine_report()`` gathers the facts (board, CPU and its integer dot-product instructions, cores, memory,
OS, glibc, Python, the Qt platform plugins and the system libraries they miss, cameras, each backend and
detector and why not); ``recommend()`` turns them, and this machine's ``ferdesk bench`` figures when there
are any, into a tier, backend, threads and detector, each with its reason. ``ferdesk doctor`` prints both;
the window uses the recommendation on its first start.
"""
from __future__ import annotations

import importlib.util
import os
import platform
import re
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

DEVICE_TREE_MODELS = (Path("/proc/device-tree/model"), Path("/sys/firmware/devicetree/base/model"))
# CPU flags that matter for the bundled models: integer dot products make INT8 fast
INT8_FLAGS = {"avx512_vnni": "AVX-512 VNNI", "avx_vnni": "AVX-VNNI", "amx_int8": "AMX INT8",
              "asimddp": "ARMv8.2 dot product (SDOT/UDOT)", "i8mm": "ARMv8.6 INT8 matrix multiply"}
OTHER_FLAGS = {"avx2": "AVX2", "avx512f": "AVX-512", "fphp": "ARM FP16 arithmetic", "asimd": "ARM NEON"}
# A frame budget for the balanced tier: a face classified within this many ms leaves room for detection
BALANCED_BUDGET_MS = 5.0
BEST_BUDGET_MS = 12.0


@dataclass
class MachineReport:
    board: str | None
    machine: str
    cpu: str
    int8_features: list[str]
    other_features: list[str]
    cores: int
    memory_gb: float | None
    os: str
    glibc: str | None
    python: str
    qt_plugins: dict[str, list[str]] = field(default_factory=dict)   # plugin -> missing system libraries
    cameras: list[str] = field(default_factory=list)
    backends: dict[str, str] = field(default_factory=dict)           # name -> "" when available, else why not
    gpu_providers: dict[str, str] = field(default_factory=dict)      # ONNX Runtime's CUDA/TensorRT: "" or why not
    detectors: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Recommendation:
    model: str
    tier: str
    backend: str
    threads: int
    detector: str
    reasons: list[str]

    def to_dict(self) -> dict:
        return asdict(self)


def board_model() -> str | None:
    for path in DEVICE_TREE_MODELS:
        try:
            return path.read_bytes().rstrip(b"\x00").decode(errors="replace").strip() or None
        except OSError:
            continue
    return None


def cpu_facts() -> tuple[str, set[str]]:
    """The CPU's model name and its feature flags, from /proc/cpuinfo (x86 ``flags``, ARM ``Features``)."""
    name, flags = platform.processor() or platform.machine(), set()
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return name, flags
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key in ("model name", "hardware", "cpu model") and value.strip() and name in (platform.machine(), ""):
            name = value.strip()
        elif key in ("flags", "features") and not flags:
            flags = set(value.split())
    return name, flags


def memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}"


def qt_platform_plugins() -> dict[str, list[str]]:
    """Each Qt platform plugin of the installed PySide6, with the shared libraries ``ldd`` cannot find."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return {}
    folder = Path(list(spec.submodule_search_locations)[0]) / "Qt" / "plugins" / "platforms"
    out = {}
    for plugin in sorted(folder.glob("*.so")):
        name = plugin.stem.removeprefix("libq")
        try:
            ldd = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, timeout=20).stdout
        except (OSError, subprocess.TimeoutExpired):
            out[name] = ["(ldd not available)"]
            continue
        out[name] = sorted({m.group(1) for m in re.finditer(r"^\s*(\S+) => not found", ldd, re.M)})
    return out


def gpu_providers() -> dict[str, str]:
    """ONNX Runtime's GPU providers in this build: "" where they load, else why not (none for the CPU build)."""
    try:
        import onnxruntime as ort

        from ferdesk.engines.onnxruntime_engine import PROVIDER_LIBRARIES, provider_problems
    except ImportError:
        return {}
    present = [p for p in PROVIDER_LIBRARIES if p in ort.get_available_providers()]
    problems = provider_problems()
    return {p: problems.get(p, "") for p in present}


def machine_report(cameras: bool = True, qt: bool = True) -> MachineReport:
    from ferdesk.detectors import detectors
    from ferdesk.engines import engines
    from ferdesk.sources import sources

    cpu, flags = cpu_facts()
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return MachineReport(
        board=board_model(), machine=platform.machine(), cpu=cpu,
        int8_features=[label for flag, label in INT8_FLAGS.items() if flag in flags],
        other_features=[label for flag, label in OTHER_FLAGS.items() if flag in flags],
        cores=affinity, memory_gb=memory_gb(), os=os_name(),
        glibc="-".join(platform.libc_ver()) or None, python=platform.python_version(),
        qt_plugins=qt_platform_plugins() if qt else {},
        cameras=sources.get("camera").discover() if cameras else [],
        backends={name: ("" if ok else why) for name, cls in engines for ok, why in [cls.availability()]},
        gpu_providers=gpu_providers(),
        detectors={name: ("" if ok else why) for name, cls in detectors for ok, why in [cls.availability()]},
    )


def recommend(report: MachineReport, catalog, latencies: dict | None = None) -> Recommendation:
    """A tier, backend, thread count and detector for this machine, with the reason for each."""
    reasons = []
    backends = [b for b in ("onnxruntime", "litert") if report.backends.get(b) == ""]
    backend = backends[0] if backends else "onnxruntime"
    reasons.append(f"backend {backend}: " + ("available here" if backends else "nothing else is available here")
                   + ("; ONNX Runtime runs every bundled file (INT4 and FP16 too)" if backend == "onnxruntime" else ""))
    tiers = catalog.tiers()
    measured = {t: (latencies or {}).get((spec.name, backend)) for t, spec in tiers.items()}
    if any(measured.values()):
        ms = {t: r["latency_ms_p50"] for t, r in measured.items() if r}
        if "best" in ms and ms["best"] <= BEST_BUDGET_MS:
            tier = "best"
        elif ms.get("balanced", float("inf")) <= BALANCED_BUDGET_MS:
            tier = "balanced"
        else:
            tier = "tiny" if "tiny" in tiers else "balanced"
        reasons.append(f"tier {tier}: measured here by ferdesk bench ("
                       + ", ".join(f"{t} {v:.2f} ms" for t, v in ms.items()) + " per face)")
    elif report.int8_features:
        tier = "balanced"
        reasons.append(f"tier balanced: the CPU has {', '.join(report.int8_features)}, so the INT8 model is fast; "
                       "run ferdesk bench to measure the best tier here")
    elif report.machine in ("x86_64", "AMD64") and "AVX2" in report.other_features:
        tier = "balanced"
        reasons.append("tier balanced: an x86-64 CPU with AVX2 runs it in about 1 ms per face")
    else:
        tier = "tiny"
        reasons.append("tier tiny: the CPU has no integer dot-product instructions (e.g. a Cortex-A72 as in the "
                       "Raspberry Pi 4), where the smallest model keeps the frame rate")
    tier = tier if tier in tiers else next(iter(tiers), tier)
    threads = 1
    reasons.append(f"threads {threads} per model: the read, locate and classify stages already use "
                   f"{min(report.cores, 3)} of the {report.cores} cores")
    if report.detectors.get("blazeface") != "":
        detector = next((d for d, why in report.detectors.items() if why == ""), "opencv-cascade")
        reasons.append(f"detector {detector}: BlazeFace cannot run here")
    elif tier == "tiny" and report.detectors.get("blazeface-frame") == "":
        # the tiny tier is chosen where the classifier is slow; the detector is as slow there, and the
        # default's small-face scan about doubles its stage (x86 here: 12.7 against 7.0 ms p50 on the demo)
        detector = "blazeface-frame"
        reasons.append("detector blazeface-frame: the default's whole frame and face check without its small-face "
                       "scan, which about doubles the detect stage on a CPU this slow; it misses faces narrower "
                       "than about 50 px in a 640x480 frame")
    else:
        detector = "blazeface"
        reasons.append("detector blazeface: the default; the whole frame, a few small-face tiles a frame, and the "
                       "face check")
    model = tiers[tier].name if tier in tiers else catalog.default("classifier").name
    return Recommendation(model, tier, backend, threads, detector, reasons)


def missing_for_display(report: MachineReport) -> str | None:
    """A one-line hint when no on-screen Qt platform plugin can load (the window would not open)."""
    shown = {k: v for k, v in report.qt_plugins.items() if k in ("xcb", "wayland", "eglfs")}
    if shown and all(shown.values()):
        libs = sorted({lib for libs in shown.values() for lib in libs})
        return f"no Qt platform plugin can load: missing {', '.join(libs)} (see the README's apt-get line)"
    return None


