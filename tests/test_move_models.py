"""tools/move_models.py: catalog entries and their files between the bundled set and the zoo."""
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def tool():
    spec = importlib.util.spec_from_file_location("move_models", ROOT / "tools" / "move_models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def entry(name, *paths):
    return {"name": name, "task": "classifier", "files": [{"path": p} for p in paths]}


def write(folder: Path, models: list[dict], files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for path, data in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
    (folder / "catalog.json").write_text(json.dumps({"schema_version": 1, "models": models}))
    return folder / "catalog.json"


def test_entries_move_with_their_files_and_a_shared_file_is_copied(tmp_path):
    bundled = write(tmp_path / "pkg", [entry("old", "old/old.onnx"), entry("old-int4", "old/old-int4.onnx"),
                                       entry("keeps", "old/shared.bin")],
                    {"old/old.onnx": b"fp32", "old/old-int4.onnx": b"int4", "old/shared.bin": b"s"})
    zoo = write(tmp_path / "zoo", [entry("new", "new/new.onnx")], {"new/new.onnx": b"new"})
    # "old" also names the shared file: it is copied, since "keeps" stays in the package
    json_doc = json.loads(bundled.read_text())
    json_doc["models"][0]["files"].append({"path": "old/shared.bin"})
    bundled.write_text(json.dumps(json_doc))

    m = tool()
    m.main(["--to", "zoo", "--bundled", str(bundled), "--zoo", str(zoo), "old", "old-int4"])
    names = lambda p: [x["name"] for x in json.loads(p.read_text())["models"]]  # noqa: E731
    assert names(bundled) == ["keeps"] and names(zoo) == ["new", "old", "old-int4"]
    assert (tmp_path / "zoo/old/old.onnx").read_bytes() == b"fp32" and not (tmp_path / "pkg/old/old.onnx").exists()
    assert (tmp_path / "zoo/old/shared.bin").is_file() and (tmp_path / "pkg/old/shared.bin").is_file()

    m.main(["--to", "bundled", "--bundled", str(bundled), "--zoo", str(zoo), "new"])
    assert names(bundled) == ["keeps", "new"] and (tmp_path / "pkg/new/new.onnx").read_bytes() == b"new"
    assert not (tmp_path / "zoo/new").exists()  # the emptied family folder goes


def test_a_bad_name_moves_nothing(tmp_path, capsys):
    bundled = write(tmp_path / "pkg", [entry("a", "a/a.onnx")], {"a/a.onnx": b"a"})
    zoo = write(tmp_path / "zoo", [], {})
    before = bundled.read_text()
    with pytest.raises(SystemExit, match="not in either catalog: nope"):
        tool().main(["--to", "zoo", "--bundled", str(bundled), "--zoo", str(zoo), "a", "nope"])
    with pytest.raises(SystemExit, match="already in the bundled catalog: a"):
        tool().main(["--to", "bundled", "--bundled", str(bundled), "--zoo", str(zoo), "a"])
    assert bundled.read_text() == before and (tmp_path / "pkg/a/a.onnx").is_file()
