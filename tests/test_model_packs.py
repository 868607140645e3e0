"""Model packs: catalogs merged with the bundled one from --models, FERDESK_MODELS and installed distributions."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from conftest import ROOT, run_cli
from ferdesk.catalog import Catalog, file_digest
from ferdesk.errors import ModelError

ZOO = ROOT / "models"


def tiny_int8(catalog: Catalog):
    """The bundled INT8 file of the tiny tier's family (the tier itself is its INT4 file)."""
    tier = next(m for m in catalog.by_task("classifier") if m.get("tier") == "tiny")
    return catalog.get(tier.name.replace("-int4", "-int8"))


def make_pack(folder: Path, catalog: Catalog, extra_names=("pack-tiny",)) -> Path:
    """A pack with copies of the tiny tier's INT8 model under new names, one entry whose name the bundled set
    already has (with other content), and a claim to be the default."""
    folder.mkdir(parents=True)
    tiny = tiny_int8(catalog)
    entries = []
    for name in extra_names:
        shutil.copy(tiny.primary.path, folder / f"{name}.onnx")
        entry = {**tiny.raw, "name": name, "default": True, "tier": None,
                 "files": [{**tiny.raw["files"][0], "path": f"{name}.onnx"}], "file": f"{name}.onnx"}
        entry.pop("tier")
        entries.append(entry)
    entries.append({**tiny.raw, "name": catalog.default("classifier").name, "description": "an impostor"})
    (folder / "catalog.json").write_text(json.dumps({"schema_version": 1, "models": entries}))
    return folder


def test_a_pack_adds_its_models_but_never_takes_a_name_or_the_default(tmp_path):
    bundled = Catalog.load()
    pack = make_pack(tmp_path / "pack", bundled)
    merged = Catalog.load(packs=[pack])
    added = merged.get("pack-tiny")
    assert added.origin == str(pack) and added.primary.path == pack / "pack-tiny.onnx"
    assert merged.default("classifier").name == bundled.default("classifier").name
    assert merged.default("classifier").origin == "bundled"
    assert merged.get(bundled.default("classifier").name).get("description") != "an impostor"
    assert [m.name for m in merged.models][:len(bundled.models)] == [m.name for m in bundled.models]
    assert merged.packs == (str(pack),)


def test_unknown_model_points_to_the_zoo_pack_only_when_no_pack_is_loaded(tmp_path):
    with pytest.raises(ModelError, match="ferdesk-zoo"):
        Catalog.load().get("fernet-s")
    pack = make_pack(tmp_path / "pack", Catalog.load())
    with pytest.raises(ModelError) as e:
        Catalog.load(packs=[pack]).get("nope")
    assert "ferdesk-zoo" not in str(e.value)


def test_run_and_models_take_a_pack_from_the_option_and_from_the_environment(tmp_path, clip):
    pack = make_pack(tmp_path / "pack", Catalog.load())
    r = run_cli("run", "--source", str(clip), "--max-frames", "2", "--no-log", "--models", str(pack), "--model", "pack-tiny")
    assert r.returncode == 0, r.stderr
    r = run_cli("models", "--json", env={"FERDESK_MODELS": str(pack)})
    assert r.returncode == 0, r.stderr
    rows = {m["name"]: m for m in json.loads(r.stdout)}
    assert rows["pack-tiny"]["origin"] == str(pack) and rows[tiny_int8(Catalog.load()).name]["origin"] == "bundled"


@pytest.mark.parametrize("make, message", [
    (lambda d: d, "model pack not found"),
    (lambda d: (d.mkdir(), d)[1], "has no catalog.json"),
    (lambda d: (d.mkdir(), (d / "catalog.json").write_text("{oops"), d)[2], "is not valid JSON"),
    (lambda d: (d.mkdir(), (d / "catalog.json").write_text('{"models": 3}'), d)[2], "has no list of models"),
])
def test_a_bad_pack_is_one_line_naming_it(tmp_path, make, message):
    folder = make(tmp_path / "pack")
    r = run_cli("models", "--models", str(folder))
    assert r.returncode == 2 and message in r.stderr and str(folder) in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def installed_pack(site: Path, name: str, body: str) -> None:
    """A distribution installed into ``site`` (a folder on PYTHONPATH) that registers a model pack."""
    (site / name).mkdir(parents=True)
    (site / name / "__init__.py").write_text(body)
    info = site / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[ferdesk.model_packs]\npack = {name}:catalog_dir\n")


def test_an_installed_pack_is_found_by_its_entry_point_and_a_broken_one_is_skipped_with_a_warning(tmp_path):
    pack = make_pack(tmp_path / "pack", Catalog.load())
    site = tmp_path / "site"
    installed_pack(site, "goodpack", f"from pathlib import Path\ndef catalog_dir():\n    return Path({str(pack)!r})\n")
    installed_pack(site, "brokenpack", "def catalog_dir():\n    raise RuntimeError('files gone')\n")
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    r = run_cli("models", "--json", env=env)
    assert r.returncode == 0, r.stderr
    rows = {m["name"]: m for m in json.loads(r.stdout)}
    assert rows["pack-tiny"]["origin"] == "goodpack"
    assert "brokenpack" in r.stderr and "files gone" in r.stderr and "Traceback" not in r.stderr


def test_the_zoo_in_the_checkout_is_a_pack_with_every_research_model_and_intact_files():
    bundled = Catalog.load()
    merged = Catalog.load(packs=[ZOO])
    zoo = [m for m in merged.models if m.origin == str(ZOO)]
    names = [m.name for m in merged.models]
    assert len(names) == len(set(names)) == len(bundled.models) + len(zoo)
    # names that scripts read stay as they were
    assert {"fernet-s", "fernet-s-int8", "fernet-sm-kd2-pruned", "fernet-l4sm-x5", "tt-lstm-fernet-s"} <= set(names)
    raw_zoo = json.loads((ZOO / "catalog.json").read_text())["models"]
    assert len(raw_zoo) == len(zoo)                       # no zoo entry repeats a bundled name
    for m in zoo:
        for f in m.files:
            assert f.path.is_file() and f.path.stat().st_size == f.size_bytes and file_digest(f.path) == f.sha256, f.path
