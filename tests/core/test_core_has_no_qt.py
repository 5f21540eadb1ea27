"""The core must be importable and usable without Qt."""

import subprocess
import sys

CHECK = """
import sys
import cnnviz.core
from cnnviz.core import models, images, layers, hooks, progress, resources, bundled_net
loaded = [name for name in sys.modules
          if name.split('.')[0] in ('PySide6', 'PyQt5', 'PyQt6', 'PySide2', 'shiboken6', 'pyqtgraph')]
print(','.join(loaded))
"""


def test_importing_core_loads_no_qt_module():
    result = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_core_package_has_no_qt_import_in_source():
    from pathlib import Path

    import cnnviz.core

    folder = Path(cnnviz.core.__file__).parent
    for source in folder.glob("*.py"):
        text = source.read_text(encoding="utf-8")
        for word in ("PySide6", "PyQt", "pyqtgraph", "QtCore"):
            assert word not in text, f"{source.name} mentions {word}"
