"""The core must be importable and usable without Qt."""

import subprocess
import sys
from pathlib import Path

import cnnviz.core

QT_ROOTS = ("PySide6", "PyQt5", "PyQt6", "PySide2", "shiboken6", "shiboken2", "pyqtgraph")

CHECK = f"""
import importlib, pkgutil, sys
import cnnviz.core
names = sorted(info.name for info in pkgutil.walk_packages(cnnviz.core.__path__, 'cnnviz.core.'))
for name in names:
    importlib.import_module(name)
loaded = [name for name in sys.modules if name.split('.')[0] in {QT_ROOTS!r}]
print(len(names))
print(','.join(sorted(loaded)))
"""


def core_module_files() -> list[Path]:
    """Every Python source file of the core package, subpackages included."""
    return sorted(Path(cnnviz.core.__file__).parent.rglob("*.py"))


def test_importing_every_core_module_loads_no_qt_module():
    result = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    count, loaded = (result.stdout.splitlines() + [""])[:2]
    assert int(count) == len(core_module_files()) - 1  # every file but cnnviz/core/__init__.py is a module
    assert loaded == ""


def test_core_package_has_no_qt_import_in_source():
    for source in core_module_files():
        text = source.read_text(encoding="utf-8")
        for word in ("PySide6", "PyQt", "pyqtgraph", "QtCore", "shiboken"):
            assert word not in text, f"{source} mentions {word}"
