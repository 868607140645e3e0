"""A bar above the video for notices and errors: each stays readable until dismissed or replaced, and every
one is kept in a small log ("All messages")."""
from __future__ import annotations

import time

from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFrame, QHBoxLayout, QLabel, QListWidget, QPushButton,
                               QVBoxLayout)

STYLES = {
    "error": "background: #5c1f1f; color: #ffe3e3;",
    "warning": "background: #5c4a1f; color: #fff2d6;",
    "info": "background: #1f3d5c; color: #e3f0ff;",
}


class NotificationBar(QFrame):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.history: list[tuple[float, str, str]] = []   # (time, level, message)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(self.text.textInteractionFlags() | self.text.textInteractionFlags().TextSelectableByMouse)
        self.log_button = QPushButton("All messages", clicked=self.show_log)
        self.dismiss_button = QPushButton("Dismiss", clicked=self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.log_button)
        layout.addWidget(self.dismiss_button)
        self.hide()

    def show_message(self, message: str, level: str = "error") -> None:
        self.history.append((time.time(), level, message))
        self.setStyleSheet(f"NotificationBar {{ {STYLES.get(level, STYLES['info'])} }} QLabel {{ {STYLES.get(level, STYLES['info'])} }}")
        self.text.setText(message)
        self.level = level
        self.show()

    @property
    def message(self) -> str:
        return self.text.text() if not self.isHidden() else ""

    def dismiss(self) -> None:
        self.text.clear()
        self.hide()

    def show_log(self) -> QDialog:
        dialog = QDialog(self.window())
        dialog.setWindowTitle("All messages")
        dialog.resize(720, 320)
        entries = QListWidget()
        for t, level, message in reversed(self.history):
            entries.addItem(f"{time.strftime('%H:%M:%S', time.localtime(t))}  {level}: {message}")
        buttons = QDialogButtonBox(QDialogButtonBox.Close, rejected=dialog.reject)
        layout = QVBoxLayout(dialog)
        layout.addWidget(entries)
        layout.addWidget(buttons)
        dialog.open()
        return dialog
