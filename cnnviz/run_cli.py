"""``cnnviz run``: one analysis on an image, on every image of a folder, or on a dataset, without Qt.

The analysis comes from :mod:`cnnviz.analyses.registry`: its ``Settings`` take ``--layer``, ``--target``
and the ``--set`` values (checked by the dataclass: a bad one exits with status 2 and a one-line message
naming the field), its ``run`` computes (progress on stderr with tqdm), its matplotlib ``figure`` is saved
as PNG/SVG/PDF and its ``Result.export`` writes the arrays as ``.npy`` and CSV; a JSON sidecar records
the arguments, the settings, the caption, the versions and the files. Arguments are checked before
anything heavy starts (:mod:`cnnviz.run_args`); a failed analysis exits with status 1. A part of a result that
failed while the others were computed (``Result.failures``: an attribution method) is printed on stderr and the
outputs are written; the analysis fails when nothing else was computed. Nothing here
imports PySide6, pyqtgraph or :mod:`cnnviz.gui` (an import contract checks it).
"""

import argparse
import json
import platform
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchvision
from tqdm import tqdm

import cnnviz
from cnnviz.analyses import Source, figures, registry
from cnnviz.analyses.base import FIGURE_FORMATS, Analysis, compute
from cnnviz.core import settings
from cnnviz.core.data import images
from cnnviz.core.model import models
from cnnviz.core.progress import Cancelled
from cnnviz.run_args import ArgumentError, build_parser, check, data_name, open_data

tqdm.monitor_interval = 0  # no monitor thread: a second thread makes DataLoader workers start by "spawn"
UNTRAINED_SEED = 0
"""Seed of the random weights of ``--untrained``, so that identical arguments give identical results."""


class RunFailure(Exception):
    """An analysis failed (exit status 1); the message says why."""


def fail(message: str, status: int = 2) -> int:
    """Print ``cnnviz: message`` on stderr; returns ``status`` (2: a bad argument, 1: a failure)."""
    sys.stderr.write(f"cnnviz: {message}\n")
    return status


def main(argv: Sequence[str]) -> int:
    """Run ``cnnviz run`` with the arguments after ``run``; returns the exit status (0 success, 2 bad
    argument, 1 failure)."""
    parser = build_parser()
    args: argparse.Namespace | None = None
    try:
        args = parser.parse_args(list(argv))
        if args.help:
            return show_help(parser, args)
        check(args)
        return Run(args).run()
    except ArgumentError as error:
        return fail(f"run: {error}")
    except (RunFailure, OSError) as error:
        return fail(f"run: {error}", 1)
    except Exception as error:  # a defect: say what failed, with the traceback on request
        if args is not None and args.verbose:
            traceback.print_exc()
        return fail(f"run failed: {type(error).__name__}: {error}", 1)


def show_help(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Print ``cnnviz run --help``, or with an analysis every parameter of it with its default for the model
    ``--model`` (resolved where the default depends on the model); returns 0."""
    if args.analysis is None:
        sys.stdout.write(parser.format_help())
        return 0
    if args.analysis not in registry.names():
        raise ArgumentError(f"unknown analysis {args.analysis!r}; analyses: {', '.join(registry.names())}")
    analysis = registry.get(args.analysis)
    model = load_model(args)
    lines = [f"cnnviz run {analysis.name}: {analysis.summary}", "",
             f"parameters (--set KEY=VALUE), with their defaults for the model {args.model!r}:",
             *settings.help_lines(analysis.settings, analysis.settings_for(model)), "",
             "--layer L sets layer; --target N sets target (default: the top-1 class of each image).",
             "Run `cnnviz run --help` for the other options."]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def load_model(args: argparse.Namespace) -> models.LoadedModel:
    """The model ``--model`` names (with --arch, --untrained, --trust, --device); a bad one is an
    :class:`ArgumentError` whose message says what to do."""
    if args.untrained:
        torch.manual_seed(UNTRAINED_SEED)
    text = args.model
    path = text if text == "default" or text in models.zoo_names() else str(Path(text).expanduser().resolve())
    try:
        return models.load(path, pretrained=not args.untrained, trust=args.trust, device=args.device, arch=args.arch,
                           progress=_download_progress())
    except models.UntrustedFileError as error:
        raise ArgumentError(f"--model {text}: {error} Pass --trust to load it anyway.") from None
    except models.UnknownArchitectureError as error:
        raise ArgumentError(f"--model {text}: {error} Name it with --arch.") from None
    except models.WeightsDownloadError as error:
        raise ArgumentError(f"--model {text}: {error.for_command_line()}") from None
    except models.ModelLoadError as error:
        raise ArgumentError(f"--model {text}: {error}") from None


def _download_progress() -> Any:
    bar: list[tqdm] = []

    def report(done: int, total: int) -> None:
        if not bar:
            bar.append(tqdm(total=total or None, unit="B", unit_scale=True, desc="downloading weights",
                            file=sys.stderr, leave=False))
        bar[0].update(done - bar[0].n)
        if total and done >= total:
            bar[0].close()

    return report


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


class Run:
    """One ``cnnviz run``: the checked arguments ``args`` (see :func:`cnnviz.run_args.check`)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.analysis: Analysis = registry.get(args.analysis)

    def run(self) -> int:
        """Load the model, check the settings, then analyse every image (or the dataset); returns the exit
        status."""
        args = self.args
        model = None if self.analysis.input == "runs" else load_model(args)
        chosen = self.settings(model)
        args.out.mkdir(parents=True, exist_ok=True)
        if self.analysis.input in ("dataset", "runs"):
            self.analyse(model, self.whole_source(), chosen, args.stems[0],
                         Path(args.data or args.run_folders[0]))
            sys.stdout.write(f"saved 1 output set in {args.out}\n")
            return 0
        assert model is not None
        failures = 0
        for index, path in enumerate(args.images):
            started = time.monotonic()
            try:
                source = self.image(model, index)
                self.analyse(model, source, chosen, args.stems[index], path)
            except (RunFailure, OSError) as error:
                if len(args.images) == 1:
                    raise
                failures += 1
                sys.stderr.write(f"[{index + 1}/{len(args.images)}] {path.name} failed: {error}\n")
                continue
            sys.stderr.write(f"[{index + 1}/{len(args.images)}] {path.name} … {time.monotonic() - started:.1f} s\n")
        done = len(args.images) - failures
        sys.stdout.write(f"saved {done} output set{'s' if done != 1 else ''} in {args.out}\n")
        return 1 if failures else 0

    def whole_source(self) -> Source:
        """The dataset (with ``--test``) or the runs (with ``--data``) of an analysis that takes no image."""
        args = self.args
        data = open_data(args.data, args.limit) if args.data else None
        if self.analysis.input == "runs":
            return Source.of_runs(args.run_folders, data)
        assert data is not None
        test = open_data(args.test, args.limit) if args.test else None
        return Source(data_name(args.data), dataset=data, test=test)

    def settings(self, model: models.LoadedModel | None) -> Any:
        """The analysis's settings for the model with ``--layer``, ``--target`` and ``--set`` applied; an
        unknown name or a bad value is an :class:`ArgumentError`."""
        texts = dict(self.args.settings)
        if self.args.target is not None:
            texts["target"] = str(self.args.target)
        try:
            chosen = settings.from_texts(self.analysis.settings, texts)
            self.analysis.check_for(model, chosen)
        except KeyError as error:
            raise ArgumentError(f"--set {error.args[0]}") from None
        except ValueError as error:
            name, _colon, rest = str(error).partition(": ")
            if name == "layer" and self.args.layer is not None:
                raise ArgumentError(f"--layer {rest}") from None
            raise ArgumentError(f"--set {error}") from None
        if self.args.target is not None and model is not None and self.args.target >= len(model.categories):
            raise ArgumentError(f"--target {self.args.target}: the model has {len(model.categories)} classes "
                                f"(0…{len(model.categories) - 1})")
        return chosen

    def image(self, model: models.LoadedModel, index: int) -> Source:
        """Image ``index`` for the model; one that cannot be read is a bad argument when it is the only one,
        a failure of that image in a folder."""
        path = self.args.images[index]
        try:
            return Source.of_image(model, images.load_image(path), path.name)
        except images.ImageLoadError as error:
            if len(self.args.images) == 1:
                raise ArgumentError(f"--image: {error}") from None
            raise RunFailure(str(error)) from None

    def analyse(self, model: models.LoadedModel | None, source: Source, chosen: Any, stem: Path,
                input_path: Path) -> None:
        """Compute the analysis on ``source`` and write its figure, data and sidecar beside ``stem``."""
        bar = tqdm(desc=f"{self.analysis.name} {source.name}", file=sys.stderr, leave=False, unit="step",
                   disable=not sys.stderr.isatty())
        deadline = time.monotonic() + self.args.timeout

        def progress(done: int, total: int) -> bool:
            bar.total = total
            bar.update(done - bar.n)
            return time.monotonic() < deadline

        try:
            result = compute(self.analysis.run(model, source, chosen), progress)
        except Cancelled:
            raise RunFailure(f"timed out after {self.args.timeout:g} s") from None
        except (ValueError, IndexError, RuntimeError) as error:
            raise RunFailure(str(error)) from None
        finally:
            bar.close()
        failed = result.failures()
        if failed and not result.arrays():
            raise RunFailure("; ".join(failed))
        for line in failed:
            sys.stderr.write(f"cnnviz: {source.name}: {line}\n")
        written = self.write(result, stem)
        written.append(self.sidecar(result, chosen, input_path, stem, written))

    def write(self, result: Any, stem: Path) -> list[Path]:
        """The figure in the figure formats asked for and the data in the data formats; returns the paths."""
        formats = self.args.formats
        written: list[Path] = []
        figure_formats = [f for f in formats if f in FIGURE_FORMATS]
        if figure_formats:
            figure = self.analysis.figure(result, width_mm=self.args.width_mm, dpi=self.args.dpi)
            written += [figures.save(figure, stem.with_name(f"{stem.name}.{f}")) for f in figure_formats]
        written += result.export(stem.parent, [f for f in formats if f not in FIGURE_FORMATS], stem=stem.name)
        return written

    def sidecar(self, result: Any, chosen: Any, source: Path, stem: Path, written: list[Path]) -> Path:
        """Write ``<stem>.json``: the arguments, every setting (with what defaults resolved to), the caption,
        versions and files."""
        args = self.args
        caption = result.caption()
        resolved = result.resolved()
        sidecar = {
            "analysis": args.analysis, "image": "" if self.analysis.input != "image" else str(source.resolve()),
            "data": args.data or "", "test": getattr(args, "test", None) or "",
            "runs": [str(folder.resolve()) for folder in getattr(args, "run_folders", [])],
            "model": {"name": args.model, "untrained": args.untrained, "arch": args.arch, "device": args.device},
            "target": resolved.get("target", args.target),
            "arguments": {"layer": args.layer, "target": args.target, "set": args.settings,
                          "formats": list(args.formats)},
            "settings": chosen.values() | {k: v for k, v in resolved.items() if k in chosen.values()},
            "caption": caption.as_dict(), "versions": versions(), "files": [path.name for path in written]}
        path = stem.with_name(f"{stem.name}.json")
        path.write_text(json.dumps(sidecar, indent=2, default=_json_value) + "\n", encoding="utf-8")
        return path
