"""The training tools' catalog store and this machine's latency store: what they write, and where."""
from __future__ import annotations

import json

from ferdesk.latency_store import LatencyStore
from ferdesk.training.catalogs import CatalogStore, write_catalog_document


def two_catalogs(tmp_path):
    bundled, zoo = tmp_path / "pkg" / "catalog.json", tmp_path / "zoo" / "catalog.json"
    bundled.parent.mkdir()
    zoo.parent.mkdir()
    bundled.write_text(json.dumps({"schema_version": 1, "models": [{"name": "a", "task": "classifier"}]}))
    zoo.write_text(json.dumps({"schema_version": 1, "models": [{"name": "b", "task": "classifier"}]}))
    return bundled, zoo


def test_an_entry_goes_back_to_its_own_catalog_and_a_new_one_to_the_zoo(tmp_path):
    bundled, zoo = two_catalogs(tmp_path)
    store = CatalogStore(bundled, zoo)
    assert store.folder("a") == bundled.parent and store.folder("b") == zoo.parent and store.folder("new") == zoo.parent
    doc = store.document()
    doc["models"][0]["metrics"] = {"x": 1}
    doc["models"].append({"name": "c", "task": "classifier"})
    store.save(doc)
    assert json.loads(bundled.read_text())["models"] == [{"name": "a", "task": "classifier", "metrics": {"x": 1}}]
    assert [m["name"] for m in json.loads(zoo.read_text())["models"]] == ["b", "c"]
    assert store.folder("c") == zoo.parent
    assert sorted(p.name for p in bundled.parent.iterdir()) == ["catalog.json"]   # no temporary file left


def test_a_failed_write_leaves_the_old_catalog_whole(tmp_path):
    path = tmp_path / "catalog.json"
    path.write_text('{"models": []}')

    class Unserialisable:
        pass

    try:
        write_catalog_document(path, {"models": [Unserialisable()]})
    except TypeError:
        pass
    assert json.loads(path.read_text()) == {"models": []}
    assert [p.name for p in tmp_path.iterdir()] == ["catalog.json"]


def test_bench_figures_are_merged_per_model_and_backend_and_a_bad_file_means_none(tmp_path):
    store = LatencyStore(tmp_path / "latency.json")
    assert store.load() == {}
    store.merge([{"model": "m", "backend": "onnxruntime", "latency_ms_p50": 1.0}])
    store.merge([{"model": "m", "backend": "litert", "latency_ms_p50": 2.0},
                 {"model": "n", "backend": "onnxruntime", "latency_ms_p50": 3.0}])
    store.merge([{"model": "m", "backend": "onnxruntime", "latency_ms_p50": 0.5}])
    figures = {k: v["latency_ms_p50"] for k, v in store.load().items()}
    assert figures == {("m", "onnxruntime"): 0.5, ("m", "litert"): 2.0, ("n", "onnxruntime"): 3.0}
    assert all("measured_at" in v for v in store.load().values())
    (tmp_path / "latency.json").write_text("{half")
    assert store.load() == {}
