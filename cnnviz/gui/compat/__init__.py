"""Work-arounds for PySide6 bugs and Python's garbage collector across threads."""
