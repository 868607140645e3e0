"""The repository's catalog documents, as the training tools edit them.

Two documents hold the models a checkout knows: the bundled set (``ferdesk/models/catalog.json``, package
data) and the research zoo (``models/catalog.json``, the ``ferdesk-zoo`` pack). The tools read and change
one merged list of entries; each entry is written back to the document it came from, a new entry goes to
the zoo (promote a model to the bundled set by moving its entry and files by hand). Every write goes
through ``write_catalog_document``: a temporary file renamed over the old one, so a crash never leaves half
a catalog.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from ferdesk.catalog import CATALOG_PATH
from ferdesk.errors import ModelError



def zoo_dir() -> Path:
    """The research zoo the tools read and write: ``$FERDESK_ZOO``, else ``models/`` of the checkout this
    package runs from, else ``./models``."""
    if os.environ.get("FERDESK_ZOO"):
        return Path(os.environ["FERDESK_ZOO"])
    beside = Path(__file__).resolve().parents[2] / "models"
    return beside if (beside / "catalog.json").is_file() else Path.cwd() / "models"


def write_catalog_document(path: Path, doc: dict) -> None:
    """Write ``doc`` to ``path`` atomically (temp file in the same folder, then rename)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".catalog-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(doc, indent=2) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class CatalogStore:
    """The bundled and the zoo catalog documents, merged for editing by name."""

    def __init__(self, bundled: Path = CATALOG_PATH, zoo: Path | None = None):
        self.paths = [Path(bundled), Path(zoo) if zoo else zoo_dir() / "catalog.json"]
        self.docs = []
        for p in self.paths:
            try:
                self.docs.append(json.loads(p.read_text()))
            except FileNotFoundError:
                raise ModelError(f"catalog {p} not found: the training tools work in a checkout of the repository") from None
        self.home = {m["name"]: k for k, doc in enumerate(self.docs) for m in doc["models"]}

    @property
    def zoo_dir(self) -> Path:
        return self.paths[1].parent

    def document(self) -> dict:
        """One merged document (``{"schema_version", "models"}``) to read and change in place."""
        return {"schema_version": self.docs[0].get("schema_version"), "models": [m for d in self.docs for m in d["models"]]}

    def folder(self, name: str) -> Path:
        """The folder that a model's file paths are relative to: its document's, or the zoo's for a new name."""
        return self.paths[self.home.get(name, 1)].parent

    def entry(self, name: str) -> dict:
        for doc in self.docs:
            for m in doc["models"]:
                if m["name"] == name:
                    return m
        raise ModelError(f"model {name!r} is in neither {self.paths[0]} nor {self.paths[1]}")

    def save(self, merged: dict) -> None:
        """Split ``merged`` back into the documents (new names into the zoo) and write the ones that changed."""
        split: list[list[dict]] = [[] for _ in self.docs]
        for m in merged["models"]:
            split[self.home.get(m["name"], 1)].append(m)
        for k, (path, doc) in enumerate(zip(self.paths, self.docs)):
            new = {**doc, "models": split[k]}
            if new != json.loads(path.read_text()):
                write_catalog_document(path, new)
        self.docs = [{**doc, "models": split[k]} for k, doc in enumerate(self.docs)]
        self.home = {m["name"]: k for k, doc in enumerate(self.docs) for m in doc["models"]}


def repo_catalog(zoo: Path | None = None):
    """The catalog a checkout's tools read: the bundled set plus the zoo (every model this repository made)."""
    from ferdesk.catalog import Catalog

    zoo = Path(zoo) if zoo else zoo_dir()
    return Catalog.load(packs=[zoo] if (zoo / "catalog.json").is_file() else ())
