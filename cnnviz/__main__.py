"""``python -m cnnviz``: the same as the ``cnnviz`` command.

The guard matters: DataLoader worker processes started with ``spawn`` import this module again.
"""

import sys

from cnnviz.cli import main

if __name__ == "__main__":
    sys.exit(main())
