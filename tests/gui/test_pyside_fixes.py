"""The work-around for PySide6 emit() taking references from True: many emits do not free True."""

import subprocess
import sys

SCRIPT = """
import sys
import cnnviz.gui
from PySide6.QtCore import QCoreApplication, QObject, Signal

class Sender(QObject):
    fired = Signal(int)

app = QCoreApplication([])
sender = Sender()
sender.fired.connect(lambda value: None)
before = sys.getrefcount(True)
for value in range(50_000):
    sender.fired.emit(value)
print(before - sys.getrefcount(True))
"""


def test_fifty_thousand_emits_leave_true_alive():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    taken = int(result.stdout.strip())
    assert 0 <= taken <= 50_000
