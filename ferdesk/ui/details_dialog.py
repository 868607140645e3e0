"""Who and what a recording is of: participant, condition and a free note, for the recordings that follow."""
from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLineEdit, QPlainTextEdit


class SessionDetailsDialog(QDialog):
    def __init__(self, details: dict, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Session details")
        form = QFormLayout(self)
        self.participant = QLineEdit(details.get("participant") or "")
        self.participant.setPlaceholderText("an id, e.g. P07 (not a name)")
        self.condition = QLineEdit(details.get("condition") or "")
        self.condition.setPlaceholderText("e.g. baseline, stimulus A")
        self.note = QPlainTextEdit(details.get("note") or "")
        self.note.setPlaceholderText("anything the session log should say")
        self.note.setFixedHeight(80)
        form.addRow("Participant", self.participant)
        form.addRow("Condition", self.condition)
        form.addRow("Note", self.note)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def details(self) -> dict:
        """The fields as typed (stripped), None where empty."""
        return {"participant": self.participant.text().strip() or None,
                "condition": self.condition.text().strip() or None,
                "note": self.note.toPlainText().strip() or None}
