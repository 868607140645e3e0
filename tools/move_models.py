"""Move catalog entries, with their files, between the bundled set and the research zoo.

usage: python tools/move_models.py --to zoo fernet-tw-q4-flip fernet-tw-q4-flip-int4 ...
       python tools/move_models.py --to bundled fernet-tw-q4-flip-rf-int4

The training tools write every new entry into the zoo (``models/catalog.json``); a model that becomes a tier
is promoted into the package (``ferdesk/models/catalog.json``), and the one it replaces leaves for the zoo
under the same name, so that scripts naming it keep working with the zoo pack installed. Each entry keeps
its fields; its files (the paths in ``files``, relative to the document's folder in both) move with it, and
a file another entry left behind still uses is copied instead of moved. Both documents are written
atomically (``ferdesk.training.catalogs``). Names not in either catalog, or already where they are sent,
end the command with one line before anything moves.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ferdesk.training.catalogs import CatalogStore, write_catalog_document  # noqa: E402

SIDES = ("bundled", "zoo")


def entry_paths(entry: dict) -> list[str]:
    return [f["path"] for f in entry.get("files", [])]


def move(store: CatalogStore, names: list[str], to: str) -> list[str]:
    """Move ``names`` into the ``to`` document (``bundled`` or ``zoo``); returns the files moved or copied."""
    dest = SIDES.index(to)
    src = 1 - dest
    missing = [n for n in names if n not in store.home]
    if missing:
        raise SystemExit(f"move_models: not in either catalog: {', '.join(missing)}")
    there = [n for n in names if store.home[n] == dest]
    if there:
        raise SystemExit(f"move_models: already in the {to} catalog: {', '.join(there)}")
    moving = [m for m in store.docs[src]["models"] if m["name"] in names]
    staying = [m for m in store.docs[src]["models"] if m["name"] not in names]
    still_used = {p for m in staying for p in entry_paths(m)}
    src_dir, dest_dir = store.paths[src].parent, store.paths[dest].parent
    done = []
    for path in dict.fromkeys(p for m in moving for p in entry_paths(m)):
        a, b = src_dir / path, dest_dir / path
        if not a.is_file():
            if b.is_file():
                continue  # moved already with an entry of the same family
            raise SystemExit(f"move_models: {a} is named in the catalog but missing")
        b.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copy2 if path in still_used else shutil.move)(a, b)
        done.append(path)
    for folder in {(src_dir / p).parent for p in done}:
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    store.docs[dest]["models"].extend(moving)
    store.docs[src]["models"] = staying
    for path, doc in zip(store.paths, store.docs):
        write_catalog_document(path, doc)
    return done


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="+")
    ap.add_argument("--to", required=True, choices=SIDES)
    ap.add_argument("--bundled", type=Path, help="the bundled catalog.json (default: the package's)")
    ap.add_argument("--zoo", type=Path, help="the zoo's catalog.json (default: models/catalog.json)")
    a = ap.parse_args(argv)
    store = CatalogStore(a.bundled, a.zoo) if a.bundled else CatalogStore(zoo=a.zoo)
    done = move(store, a.names, a.to)
    print(f"moved {len(a.names)} entries to the {a.to} catalog, with {len(done)} files")


if __name__ == "__main__":
    main()
