"""ferdesk: live facial-expression recognition on laptops and edge boards."""

__version__ = "0.1.0"
