"""The ``cnnviz`` command: ``cnnviz scan`` and ``cnnviz scan-merge`` (dataset scans, see
:mod:`cnnviz.scan_cli`), ``cnnviz run`` (one analysis without Qt, see :mod:`cnnviz.run_cli`),
``cnnviz train`` and ``cnnviz probe`` (training and layer probes, see :mod:`cnnviz.train_cli`)
or the window (:mod:`cnnviz.gui.app.command_line`).

This module imports neither Qt nor the GUI before it knows which is wanted, so that the scan and run
subcommands run on machines without Qt libraries (cluster nodes).
"""

import sys

SUBCOMMANDS = ("scan", "scan-merge", "run", "train", "probe")


def main(argv: list[str] | None = None) -> int:
    """Run cnnviz with the command-line arguments ``argv`` (default: ``sys.argv[1:]``); returns the exit
    status. A first argument ``scan``, ``scan-merge``, ``run``, ``train`` or ``probe`` runs that
    subcommand; anything else is the window's command line (:func:`cnnviz.gui.app.command_line.main`)."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args and args[0] == "run":
        from cnnviz import run_cli

        return run_cli.main(args[1:])
    if args and args[0] in ("train", "probe"):
        from cnnviz import train_cli

        return train_cli.main(args[0], args[1:])
    if args and args[0] in SUBCOMMANDS:
        from cnnviz import scan_cli

        return scan_cli.main(args)
    from cnnviz.gui.app import command_line

    return command_line.main(argv)
