"""This machine's measured latencies, kept by ``ferdesk bench`` for the window's Model menu and model table.

One JSON file, ``latency.json`` in the user data directory (``$FERDESK_DATA_DIR`` overrides it), holding
per model and backend the last figures measured here. Written atomically (temp file + rename); an
unreadable file counts as no figures, never as an error.
"""
from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import platformdirs

from ferdesk.doctor import cpu_facts


def user_data_dir() -> Path:
    return Path(os.environ.get("FERDESK_DATA_DIR") or platformdirs.user_data_dir("ferdesk"))


class LatencyStore:
    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path else user_data_dir() / "latency.json"

    def load(self) -> dict[tuple[str, str], dict]:
        """(model, backend) -> the row bench measured (``latency_ms_p50``, ``threads``, ``measured_at``...)."""
        try:
            doc = json.loads(self.path.read_text())
            return {(r["model"], r["backend"]): r for r in doc["rows"]}
        except (OSError, ValueError, KeyError, TypeError):
            return {}

    def merge(self, rows: list[dict]) -> None:
        """Add or replace the rows of one bench run; other pairs' earlier figures stay."""
        if not rows:
            return
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        known = self.load()
        for r in rows:
            known[(r["model"], r["backend"])] = {**r, "measured_at": stamp}
        doc = {"cpu": cpu_facts()[0], "machine": platform.machine(), "rows": list(known.values())}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(doc, indent=1))
            tmp.replace(self.path)
        except OSError:
            pass  # the figures are a convenience for the menu: bench's own output is the result
