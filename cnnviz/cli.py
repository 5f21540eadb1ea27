"""The ``cnnviz`` command: ``cnnviz scan`` and ``cnnviz scan-merge`` (dataset scans, see
:mod:`cnnviz.scan_cli`), ``cnnviz run`` (a pane's analysis off screen, see :mod:`cnnviz.gui.app.batch`)
or the window (:mod:`cnnviz.gui.app.command_line`).

This module imports neither Qt nor the GUI before it knows which is wanted, so that the scan
subcommands run on machines without Qt libraries (cluster nodes).
"""

import sys

SUBCOMMANDS = ("scan", "scan-merge", "run")


def main(argv: list[str] | None = None) -> int:
    """Run cnnviz with the command-line arguments ``argv`` (default: ``sys.argv[1:]``); returns the exit
    status. A first argument ``scan``, ``scan-merge`` or ``run`` runs that subcommand; anything else is the
    window's command line (:func:`cnnviz.gui.app.command_line.main`)."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args and args[0] == "run":
        from cnnviz.gui.app import batch

        return batch.main(args[1:], as_command=argv is None)
    if args and args[0] in SUBCOMMANDS:
        from cnnviz import scan_cli

        return scan_cli.main(args)
    from cnnviz.gui.app import command_line

    return command_line.main(argv)
