"""``cnnviz run``: one analysis of a pane, off screen, on an image or on every image of a folder.

The command drives the real panes (Qt draws off screen when there is no display), so its figures and
captions are the window's: it builds a :class:`~cnnviz.gui.app.main_window.MainWindow`, makes the
analysis's pane current, sets ``--layer`` and the ``--set`` values through the pane's named settings
(:meth:`~cnnviz.gui.panes.tool_pane.ToolPane.apply_settings`), picks ``--target``, runs the pane and
waits until it has settled, then writes the figure, its data and a JSON sidecar of every setting, the
caption and the versions. Arguments are checked before anything heavy starts (:mod:`batch_args`); a
bad one exits with status 2 and a one-line message, a failed analysis with status 1.
"""

import argparse
import json
import platform
import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchvision
from PySide6.QtCore import QMessageLogContext, QtMsgType, qInstallMessageHandler

import cnnviz
from cnnviz.core import images, models
from cnnviz.gui.app import batch_panes, command_line
from cnnviz.gui.app.application import create_application
from cnnviz.gui.app.batch_args import ANALYSES, ArgumentError, build_parser, check
from cnnviz.gui.app.main_window import MainWindow
from cnnviz.gui.panes.run_pane import RunPane
from cnnviz.gui.panes.tool_pane import ToolPane
from cnnviz.gui.widgets.figure_render import ExportOptions

QT_NOISE = ("does not support propagateSizeHints",)
"""Parts of Qt messages that say nothing to the user of ``cnnviz run`` (the off-screen platform's limits)."""
UNTRAINED_SEED = 0
"""Seed of the random weights of ``--untrained``, so that identical arguments give identical results."""


class BatchFailure(Exception):
    """An analysis failed (exit status 1); the message says why."""


def main(argv: Sequence[str], as_command: bool = False) -> int:
    """Run ``cnnviz run`` with the arguments after ``run``; returns the exit status (0 success, 2 bad
    argument, 1 failure). ``as_command`` (the process is the command, not a caller such as a test):
    end the process at once if a background job is stuck (:func:`command_line.exit_now_if_stuck`)."""
    status = _main(argv)
    if as_command:
        command_line.exit_now_if_stuck(status)
    return status


def _main(argv: Sequence[str]) -> int:
    parser = build_parser()
    args: argparse.Namespace | None = None
    try:
        args = parser.parse_args(list(argv))
        if args.help:
            return show_help(parser, args)
        check(args)
        command_line.use_offscreen_without_display()
        return Batch(args).run()
    except ArgumentError as error:
        return command_line.fail(f"run: {error}")
    except (BatchFailure, OSError) as error:
        return command_line.fail(f"run: {error}", 1)
    except Exception as error:  # a defect: say what failed, with the traceback on request
        if args is not None and args.verbose:
            traceback.print_exc()
        return command_line.fail(f"run failed: {type(error).__name__}: {error}", 1)


def show_help(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Print ``cnnviz run --help``, or with an analysis every parameter of it (read from its pane,
    with the model ``--model`` loaded); returns 0."""
    if args.analysis is None:
        sys.stdout.write(parser.format_help())
        return 0
    if args.analysis not in ANALYSES:
        raise ArgumentError(f"unknown analysis {args.analysis!r}; analyses: {', '.join(ANALYSES)}")
    command_line.use_offscreen_without_display()
    sys.stdout.write(Batch(args).describe())
    return 0


def _qt_message(_kind: QtMsgType, _context: QMessageLogContext, message: str) -> None:
    if not any(noise in message for noise in QT_NOISE):
        sys.stderr.write(f"{message}\n")


@contextmanager
def open_window() -> Iterator[MainWindow]:
    """A main window that remembers nothing, closed (its background work stopped) afterwards; Qt's
    messages about what the off-screen platform cannot do (:data:`QT_NOISE`) are dropped meanwhile."""
    app = create_application()
    previous = qInstallMessageHandler(_qt_message)
    window = MainWindow(remember=False)
    try:
        yield window
    finally:
        window.close()
        window.deleteLater()
        app.processEvents()
        qInstallMessageHandler(previous)


def write_outputs(pane: ToolPane, stem: Path, formats: Sequence[str]) -> list[Path]:
    """Write what ``pane`` shows as ``formats`` beside ``stem`` with the pane's caption, at the export's
    default size (:class:`~cnnviz.gui.widgets.figure_render.ExportOptions`, not the sizes the window
    remembers: identical arguments give identical files); returns the paths written. Raises OSError."""
    return pane.export.write(stem, formats, ExportOptions(), pane.caption())


def versions() -> dict[str, str]:
    """The versions of cnnviz, torch, torchvision and Python."""
    return {"cnnviz": cnnviz.__version__, "torch": torch.__version__, "torchvision": torchvision.__version__,
            "python": platform.python_version()}


def _json_value(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


class Batch:
    """One ``cnnviz run``: the checked arguments ``args`` (see :func:`batch_args.check`)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.analysis = ANALYSES[args.analysis]
        self.spec = command_line.model_spec(args)
        self.status: list[str] = []
        self.first: tuple | None = None
        self.applied = False

    def run(self) -> int:
        """Load the model, then analyse every image; returns the exit status."""
        with open_window() as window:
            return self._run(window)

    def describe(self) -> str:
        """The analysis's parameters with their defaults for the model (see :func:`batch_panes.parameter_help`)."""
        with open_window() as window:
            pane = window.panes[self.analysis.pane]
            assert isinstance(pane, ToolPane)
            batch_panes.preset(pane, self.analysis.name)
            window.controller.set_model(self._model(), self.spec)
            listed = command_line.wait_until(
                lambda: not pane.is_running("layers") and not window.controller.busy, self.args.timeout)
            if not listed:
                raise BatchFailure(f"timed out after {self.args.timeout:g} s listing the model's layers")
            return batch_panes.parameter_help(self.analysis.name, pane, self.args.model)

    def _run(self, window: MainWindow) -> int:
        args = self.args
        pane = self._open(window)
        failures = 0
        for index, path in enumerate(args.images):
            started = time.monotonic()
            try:
                self._analyse(window, pane, index)
            except (BatchFailure, OSError) as error:
                if len(args.images) == 1:
                    raise
                failures += 1
                sys.stderr.write(f"[{index + 1}/{len(args.images)}] {path.name} failed: {error}\n")
                continue
            sys.stderr.write(f"[{index + 1}/{len(args.images)}] {path.name} … {time.monotonic() - started:.1f} s\n")
        done = len(args.images) - failures
        sys.stdout.write(f"saved {done} output set{'s' if done != 1 else ''} in {args.out}\n")
        return 1 if failures else 0

    def _open(self, window: MainWindow) -> ToolPane:
        """Check the setting names, load the model and show the analysis's pane; returns the pane."""
        pane = window.capture_target(self.analysis.pane)
        assert isinstance(pane, ToolPane)
        batch_panes.check_setting_names(pane, self.args.settings)
        self.first = self._image(0) if len(self.args.images) == 1 else None
        window.state.status_message.connect(self.status.append)
        window.resize(*command_line.DEFAULT_SCREENSHOT_SIZE)
        batch_panes.preset(pane, self.analysis.name)
        window.show()
        window.controller.set_model(self._model(), self.spec)
        return pane

    def _analyse(self, window: MainWindow, pane: ToolPane, index: int) -> None:
        """Show image ``index``, set the settings (before the first analysis), analyse it and write its
        outputs."""
        window.controller.set_image(*(self.first if self.first is not None else self._image(index)))
        self._settle(window, pane)
        if not self.applied:
            self._apply(window, pane)
            self.applied = True
            try:
                self.args.out.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise ArgumentError(f"--out {self.args.out}: {error.strerror or error}") from None
        self._compute(window, pane)
        stem = self.args.stems[index]
        written = write_outputs(pane, stem, self.args.formats)
        written.append(self._sidecar(window, pane, self.args.images[index], stem, written))

    def _image(self, index: int) -> tuple:
        """Image ``index`` as :meth:`Controller.set_image` takes it; a single image that cannot be read
        is a bad argument, one of a folder a failure of that image."""
        path = self.args.images[index]
        try:
            return command_line.load_image_arg(str(path))
        except images.ImageLoadError as error:
            if len(self.args.images) == 1:
                raise ArgumentError(f"--image: {error}") from None
            raise BatchFailure(str(error)) from None

    def _model(self) -> models.LoadedModel:
        if self.args.untrained:
            torch.manual_seed(UNTRAINED_SEED)
        try:
            return command_line.load_model_arg(self.spec)
        except models.ModelLoadError as error:
            raise ArgumentError(f"--model {self.args.model}: {error}") from None

    def _settle(self, window: MainWindow, pane: ToolPane) -> None:
        """Wait until the window and the pane have computed everything they asked for."""
        if not command_line.wait_until(lambda: window.controller.settled and pane.settled, self.args.timeout):
            raise BatchFailure(f"timed out after {self.args.timeout:g} s")
        if pane.error:
            raise BatchFailure(pane.error)

    def _apply(self, window: MainWindow, pane: ToolPane) -> None:
        """Set the target and the pane's settings (bad ones are bad arguments), once the model's
        layers are listed."""
        if not pane.layer:
            raise BatchFailure(f"the {self.analysis.name} analysis has no layer to show for this model")
        target = self.args.target
        if target is not None:
            count = len(window.state.predictions.probabilities)
            if target >= count:
                raise ArgumentError(f"--target {target}: the model has {count} classes (0…{count - 1})")
            window.controller.choose_target(target)
        try:
            problems = pane.apply_settings(dict(self.args.settings))
        except KeyError as error:
            raise ArgumentError(f"--set: {error.args[0]}") from None
        if problems:
            raise ArgumentError(batch_panes.problem_text(pane, problems, self.args.settings))
        self._settle(window, pane)

    def _compute(self, window: MainWindow, pane: ToolPane) -> None:
        """Run the pane (for an analysis started by Run) and wait for its result."""
        if self.analysis.runs:
            assert isinstance(pane, RunPane)
            self.status.clear()
            pane.run()
            if not pane.running:
                reason = pane.error or (self.status[-1] if self.status else "check its settings")
                raise BatchFailure(f"the {self.analysis.name} pane did not start: {reason}")
        self._settle(window, pane)
        if isinstance(pane, RunPane) and pane.outcome in ("failed", "cancelled"):
            raise BatchFailure(pane.error or f"the run was {pane.outcome}")

    def _sidecar(self, window: MainWindow, pane: ToolPane, image: Path, stem: Path, written: list[Path]) -> Path:
        """Write ``<stem>.json``: the arguments, every pane setting, the caption, versions and files."""
        args = self.args
        sidecar = {
            "analysis": args.analysis, "image": str(image.resolve()),
            "model": {"name": args.model, "untrained": args.untrained, "arch": args.arch, "device": args.device},
            "target": window.state.target, "arguments": {"layer": args.layer, "target": args.target,
                                                        "set": args.settings, "formats": list(args.formats)},
            "settings": pane.settings(), "caption": pane.caption().as_dict(), "versions": versions(),
            "files": [path.name for path in written]}
        path = stem.with_name(f"{stem.name}.json")
        path.write_text(json.dumps(sidecar, indent=2, default=_json_value) + "\n", encoding="utf-8")
        return path
