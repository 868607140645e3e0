"""The packaging files agree with pyproject.toml and with each other."""
from __future__ import annotations

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from conftest import ROOT


def requirement_lines(path):
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def test_the_no_onnxruntime_requirements_are_the_dependencies_less_onnxruntime():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    expected = sorted(d.split("#")[0].strip() for d in deps if not d.startswith("onnxruntime"))
    assert sorted(requirement_lines(ROOT / "packaging" / "requirements-without-onnxruntime.txt")) == expected


def test_the_desktop_entry_metainfo_and_icons_name_one_application_id():
    app = "io.github.ferdesk.ferdesk"
    desktop = (ROOT / "packaging" / "linux" / f"{app}.desktop").read_text()
    metainfo = (ROOT / "packaging" / "linux" / f"{app}.metainfo.xml").read_text()
    assert f"Icon={app}" in desktop and f"<id>{app}</id>" in metainfo and f"{app}.desktop" in metainfo
    sizes = sorted(int(p.parent.parent.name.split("x")[0]) for p in (ROOT / "packaging" / "icons" / "hicolor").glob(f"*/apps/{app}.png"))
    assert sizes == [16, 24, 32, 48, 64, 128, 256, 512]
    from ferdesk.ui.app import APP_ID

    assert APP_ID == app
