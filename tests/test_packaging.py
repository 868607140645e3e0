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


def test_compare_sessions_accepts_small_differences_and_names_real_ones(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("compare_sessions", ROOT / "tools" / "compare_sessions.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    header = "frame,time_s,wall_time,face_id,x,y,w,h,score,label,confidence,p_a,p_b,model,backend"

    def session(folder, rows):
        (folder).mkdir(parents=True)
        (folder / "frames.csv").write_text(header + "\n" + "\n".join(rows) + "\n")

    row = "0,0.0,t,1,10.0,10.0,50.0,50.0,0.9,{label},0.8,{pa},{pb},m,onnxruntime"
    session(tmp_path / "x86" / "ort", [row.format(label="a", pa=0.8, pb=0.2)])
    session(tmp_path / "arm" / "ort", [row.format(label="a", pa=0.805, pb=0.195)])
    assert tool.main([str(tmp_path / "x86"), str(tmp_path / "arm")]) == 0
    session(tmp_path / "arm2" / "ort", [row.format(label="b", pa=0.4, pb=0.6)])
    assert tool.main([str(tmp_path / "x86"), str(tmp_path / "arm2")]) == 1
    assert tool.main([str(tmp_path / "x86"), str(tmp_path / "missing")]) == 1
