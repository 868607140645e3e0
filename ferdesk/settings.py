"""The app's persistent settings: a small JSON file under the user config directory.

A corrupt or unreadable file is set aside (renamed ``settings.json.corrupt``) and the
defaults are used, with a warning for the window to show; a value of the wrong type is dropped
alone, with a warning. Settings never stop the app.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import platformdirs


def settings_path() -> Path:
    return Path(os.environ.get("FERDESK_CONFIG_DIR") or platformdirs.user_config_dir("ferdesk")) / "settings.json"


@dataclass
class Settings:
    source: str = "default"
    model: str | None = None
    backend: str | None = None
    detector: str | None = None
    temporal: str | None = None
    prior: str | None = None
    window_geometry: str | None = None   # base64 of QMainWindow.saveGeometry()
    window_state: str | None = None      # base64 of QMainWindow.saveState()

    @classmethod
    def load(cls, path: Path | None = None) -> tuple["Settings", str | None]:
        path = path or settings_path()
        if not path.exists():
            return cls(), None
        try:
            data = json.loads(path.read_text())
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            kept, dropped = {}, []
            for f in fields(cls):
                if f.name not in data:
                    continue
                value = data[f.name]
                if value is None or isinstance(value, str):   # every setting is text (or unset)
                    kept[f.name] = value
                else:
                    dropped.append(f"{f.name}={json.dumps(value)}")
            warning = (f"settings file {path}: ignored {', '.join(dropped)} (not text); using the defaults for "
                       f"{'it' if len(dropped) == 1 else 'them'}") if dropped else None
            return cls(**kept), warning
        except (OSError, ValueError, TypeError) as e:
            try:
                path.replace(path.with_suffix(".json.corrupt"))
            except OSError:
                pass
            return cls(), f"settings file {path} was unreadable ({e}); using defaults"

    def save(self, path: Path | None = None) -> None:
        path = path or settings_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(asdict(self), indent=2))
            tmp.replace(path)
        except OSError:
            pass  # settings are a convenience: never fail the app over them
