"""Qt-free core of cnnviz: models, images, layer tables and the analyses.

Nothing in this package imports Qt, so every action of the GUI can be scripted, tested headless and
run from the command line. Submodules are imported on demand (``from cnnviz.core import models``).
"""

from cnnviz.core.progress import Cancelled, ProgressFn

__all__ = ["Cancelled", "ProgressFn"]
