"""The work-around for PySide6 6.12 dropping references to True (emit) and None (thread pool): many
emits and pool jobs, in a fresh interpreter, end normally."""

import subprocess
import sys

SCRIPT = """
import sys
import cnnviz.gui
from PySide6.QtCore import QCoreApplication, QObject, QThreadPool, Signal

class Sender(QObject):
    fired = Signal(int, object)

app = QCoreApplication([])
sender = Sender()
sender.fired.connect(lambda value, payload: None)
true_before, none_before = sys.getrefcount(True), sys.getrefcount(None)
for value in range(30_000):
    sender.fired.emit(value, None)
pool = QThreadPool()
pool.setMaxThreadCount(1)
for _ in range(300):
    pool.start(lambda: sender.fired.emit(1, None))
pool.waitForDone()
app.processEvents()
print(true_before - sys.getrefcount(True), none_before - sys.getrefcount(None))
"""


def test_many_emits_and_pool_jobs_leave_true_and_none_alive():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    true_taken, none_taken = (int(v) for v in result.stdout.split())
    assert true_taken <= 31_000 and none_taken <= 1_000
