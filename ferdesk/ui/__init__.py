"""The PySide6 desktop app. Only this package (and ferdesk.workers) imports Qt."""
