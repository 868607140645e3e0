"""The core stays Qt-free: only ferdesk/ui/ and ferdesk/workers.py may import Qt."""
import ast
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "ferdesk"
QT = ("PySide6", "pyqtgraph", "PyQt5", "PyQt6", "shiboken6")


def test_core_modules_do_not_import_qt():
    offenders = []
    for path in CORE.rglob("*.py"):
        rel = path.relative_to(CORE)
        if rel.parts[0] == "ui" or rel.name == "workers.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(n.split(".")[0] in QT for n in names):
                offenders.append(str(rel))
    assert not offenders, offenders
