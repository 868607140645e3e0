""""All models...": every classifier ferdesk can run here, in a sortable, filterable table.

Rows come from ``model_rows`` (plain data, Qt-free); the dialog only shows them and says which one the
user picked (``model_chosen``), it never switches a model itself.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QFont, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QTableView, QVBoxLayout)

from ferdesk.catalog import Catalog
from ferdesk.commands.models import model_backends

SORT_ROLE = Qt.UserRole + 1
NAME_ROLE = Qt.UserRole + 2


@dataclass(frozen=True)
class ModelRow:
    name: str
    family: str
    tier: str
    precision: str
    size_bytes: int
    accuracy: float | None                  # FER2013 PublicTest
    latency_ms: dict[str, float]            # backend -> p50 ms measured here by ferdesk bench
    runs_on: tuple[str, ...]                # backends that can run it here
    origin: str                             # "bundled" or the model pack


def model_rows(catalog: Catalog, latencies: dict[tuple[str, str], dict]) -> list[ModelRow]:
    rows = []
    for spec in catalog.by_task("classifier"):
        mf = spec.primary
        backends = model_backends(spec)
        rows.append(ModelRow(
            spec.name, catalog.family(spec), spec.get("tier") or "", mf.precision if mf else "",
            mf.size_bytes if mf else 0, (spec.get("metrics") or {}).get("fer2013_publictest_accuracy"),
            {b: r["latency_ms_p50"] for (m, b), r in latencies.items() if m == spec.name and "latency_ms_p50" in r},
            tuple(b for b, info in backends.items() if info["available"]), spec.origin))
    return rows


class ModelTableDialog(QDialog):
    model_chosen = Signal(str)
    COLUMNS = ("Model", "Family", "Tier", "Precision", "Size", "PublicTest", "ONNX Runtime ms here",
               "LiteRT ms here", "Runs here on", "Installed with")

    def __init__(self, rows: list[ModelRow], current: str | None, parent=None, title: str = "All models"):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(1200, 520)
        self.source = QStandardItemModel(0, len(self.COLUMNS), self)
        self.source.setHorizontalHeaderLabels(list(self.COLUMNS))
        for row in rows:
            self.source.appendRow(self._items(row, row.name == current))
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.source)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterKeyColumn(-1)   # every column
        self.proxy.setFilterCaseSensitivity(Qt.CaseInsensitive)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.view.verticalHeader().hide()
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.view.sortByColumn(5, Qt.DescendingOrder)
        self.view.doubleClicked.connect(lambda _: self._choose())
        self.filter = QLineEdit(placeholderText="filter: a name, family, tier, precision or backend")
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        note = QLabel("Times are the median latency per face measured on this machine by <code>ferdesk bench</code>; "
                      "empty where not measured yet. PublicTest: accuracy on FER2013 PublicTest (3,589 faces).")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.Cancel)
        self.use_button = buttons.addButton("Use this model", QDialogButtonBox.AcceptRole)
        self.use_button.setEnabled(False)
        buttons.accepted.connect(self._choose)
        buttons.rejected.connect(self.reject)
        self.view.selectionModel().selectionChanged.connect(
            lambda *_: self.use_button.setEnabled(bool(self.view.selectionModel().selectedRows())))
        top = QHBoxLayout()
        top.addWidget(self.filter)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.view)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.select(current)

    @staticmethod
    def _items(row: ModelRow, current: bool) -> list[QStandardItem]:
        def item(text: str, sort, tip: str = "") -> QStandardItem:
            it = QStandardItem(text)
            it.setData(sort, SORT_ROLE)
            it.setData(row.name, NAME_ROLE)
            if tip:
                it.setToolTip(tip)
            if current:
                font = QFont()
                font.setBold(True)
                it.setFont(font)
            return it

        def ms(backend: str) -> QStandardItem:
            v = row.latency_ms.get(backend)
            return item(f"{v:.2f}" if v is not None else "", v if v is not None else float("inf"))

        acc = row.accuracy
        return [
            item(row.name + ("  (current)" if current else ""), row.name),
            item(row.family, row.family),
            item(row.tier, {"tiny": 0, "balanced": 1, "best": 2}.get(row.tier, 3)),
            item(row.precision, row.precision),
            item(f"{row.size_bytes / 1024:,.0f} KB", row.size_bytes),
            item(f"{acc:.2%}" if acc is not None else "", acc if acc is not None else -1.0),
            ms("onnxruntime"), ms("litert"),
            item(", ".join(row.runs_on) or "nothing here", ", ".join(row.runs_on)),
            item(row.origin, row.origin),
        ]

    def select(self, name: str | None) -> None:
        for r in range(self.proxy.rowCount()):
            index = self.proxy.index(r, 0)
            if index.data(NAME_ROLE) == name:
                self.view.selectRow(r)
                self.view.scrollTo(index)
                return

    def selected_name(self) -> str | None:
        rows = self.view.selectionModel().selectedRows()
        return rows[0].data(NAME_ROLE) if rows else None

    def _choose(self) -> None:
        name = self.selected_name()
        if name:
            self.model_chosen.emit(name)
            self.accept()
