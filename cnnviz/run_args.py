"""The arguments of ``cnnviz run``: the parser, and the checks that need no model (run before anything heavy
starts). :mod:`cnnviz.run_cli` runs them; the analyses come from :mod:`cnnviz.analyses.registry`.

A bad argument raises :class:`ArgumentError`, whose one-line message the command prints before
exiting with status 2.
"""

import argparse
import dataclasses
from pathlib import Path
from typing import NoReturn

from cnnviz.analyses import registry
from cnnviz.core.data import datasets, images
from cnnviz.core.model import models

FORMATS = ("png", "svg", "pdf", "npy", "csv")
"""What ``--format`` may list: the figure (PNG, SVG, PDF) and the data behind it (.npy, CSV)."""
DEFAULT_FORMATS = ("png", "npy")
DEFAULT_TIMEOUT_S = 3600.0


class ArgumentError(Exception):
    """A bad argument of ``cnnviz run``; the message says which and why (exit status 2)."""


EPILOG = """\
analyses:
{analyses}

every parameter of an analysis, with its default: cnnviz run ANALYSIS --help
examples:
  cnnviz run occlusion --image cat.jpg --out results --set window=32 --set stride=8
  cnnviz run top9 --model resnet18 --image photos/ --layer layer3 --out results --format png,svg,npy
  cnnviz run curves --runs runs/relu,runs/tanh --out results
  cnnviz run confusion --runs runs/photos --set epoch=7 --format png,npy,csv --out results
  cnnviz run probe --model squeezenet1_0 --data photos/train --test photos/test --layers features.3,features.12 \
                   --out results

Each image gives <analysis>-<image stem>.<format> files and a JSON sidecar <analysis>-<image stem>.json
with every setting, the caption (model, weights checksum, image, layer…), the versions and the files.
exit status: 0 on success, 2 for a bad argument (nothing is computed), 1 when an analysis failed.
"""


class Parser(argparse.ArgumentParser):
    """An argument parser that raises :class:`ArgumentError` instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise ArgumentError(message)


def add_model_arguments(parser: argparse.ArgumentParser, device_help: str) -> None:
    """``--model``, ``--arch``, ``--trust`` and ``--device`` (described by ``device_help``)."""
    add = parser.add_argument
    add("--model", metavar="NAME|PATH", default="default",
        help="'default' (the bundled Fashion-MNIST network, the default), a torchvision model, a model file or a "
             "training checkpoint")
    add("--arch", metavar="NAME", choices=models.zoo_names(), help="the architecture of a .pth state_dict")
    add("--trust", action="store_true", help="allow loading a whole pickled model file (runs its code)")
    add("--device", choices=("cpu", "cuda", "mps"), default="cpu", help=f"{device_help} (default: cpu)")


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``cnnviz run``'s arguments (help is handled by the caller: ``-h`` only sets ``help``)."""
    listing = "\n".join(f"  {name:<12} {registry.get(name).summary}" for name in registry.names())
    parser = Parser(prog="cnnviz run", add_help=False, formatter_class=argparse.RawDescriptionHelpFormatter,
                     description="Run one analysis on an image, on every image of a folder or on a dataset, "
                                 "saving its report\nfigure, its data and a JSON sidecar; no window is opened.",
                     epilog=EPILOG.format(analyses=listing))
    add = parser.add_argument
    add("analysis", nargs="?", metavar="ANALYSIS", help=f"one of: {', '.join(registry.names())}")
    add("-h", "--help", action="store_true", help="show this help (with ANALYSIS: its parameters) and exit")
    add_model_arguments(parser, "where the model runs")
    add("--untrained", action="store_true", help="random weights (seeded: every run gets the same ones)")
    add("--image", metavar="PATH|DIR", help="an image file, a bundled sample's name, or a folder of images")
    add("--data", metavar="DIR", help="the dataset of a dataset analysis (scan, features; probe's training images) "
        "or the images confusion scores: an image folder (one subfolder per class, or flat) or fashion-mnist:test / "
        "fashion-mnist:train")
    add("--test", metavar="DIR", help="the test images of a probe: an image folder (one subfolder per class) or "
        "fashion-mnist:test")
    add("--runs", metavar="RUN1,RUN2", help="training run folders (cnnviz train --out) for curves and confusion")
    add("--limit", metavar="N", type=int, help="use only the first N images of --data (and of --test)")
    add("--layer", metavar="L", help="the layer to analyse (default: the pane's choice for the model)")
    add("--layers", metavar="A,B", help="the layers of an analysis that takes several (probe)")
    add("--target", metavar="N", type=int, help="the target class index (default: the top-1 class)")
    add("--width-mm", metavar="MM", type=float, default=170.0, help="the figure's width in mm (default: 170)")
    add("--dpi", metavar="DPI", type=float, default=300.0, help="the figure's resolution (default: 300)")
    add("--set", metavar="KEY=VALUE", action="append", default=[], dest="sets",
        help="set one of the analysis's parameters (repeatable; see cnnviz run ANALYSIS --help)")
    add("--out", metavar="DIR", type=Path, help="the folder the outputs go to (created if missing)")
    add("--format", metavar="LIST", default=",".join(DEFAULT_FORMATS), dest="formats",
        help=f"comma-separated, from {', '.join(FORMATS)} (default: {','.join(DEFAULT_FORMATS)})")
    add("--timeout", metavar="S", type=float, default=DEFAULT_TIMEOUT_S,
        help=f"give up on an image after S seconds (default: {DEFAULT_TIMEOUT_S:g})")
    add("--verbose", action="store_true", help="show the traceback of a failure")
    return parser


def parse_sets(texts: list[str]) -> dict[str, str]:
    """``["window=32", "fill=noise"]`` -> {"window": "32", "fill": "noise"} (values stay text; the pane's
    controls convert them). A later value of a key wins."""
    values: dict[str, str] = {}
    for text in texts:
        key, equals, value = text.partition("=")
        if not equals or not key.strip():
            raise ArgumentError(f"--set {text!r}: expected KEY=VALUE, such as window=32")
        values[key.strip()] = value.strip()
    return values


def parse_formats(text: str) -> tuple[str, ...]:
    """``"png,svg"`` -> ("png", "svg"): known formats, in the order given, without repeats."""
    chosen = [part.strip().lower().lstrip(".") for part in text.split(",") if part.strip()]
    unknown = [name for name in chosen if name not in FORMATS]
    if unknown or not chosen:
        raise ArgumentError(f"--format {text!r}: formats are {', '.join(FORMATS)}")
    return tuple(dict.fromkeys(chosen))


def image_files(text: str) -> list[Path]:
    """The images ``--image`` names: a file, a bundled sample's name, or every image file (by extension,
    sorted by name) of a folder."""
    path = Path(text).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in datasets.IMAGE_EXTENSIONS and p.is_file())
        if not files:
            raise ArgumentError(f"--image {text}: the folder holds no image file "
                                f"({', '.join(datasets.IMAGE_EXTENSIONS)})")
        return files
    if path.is_file():
        return [path]
    try:
        return [images.sample(text).path]
    except KeyError:
        raise ArgumentError(f"--image {text}: no such file or folder, nor a bundled sample") from None


def output_stems(analysis: str, files: list[Path], out: Path) -> list[Path]:
    """Where each image's outputs go: ``out/<analysis>-<image stem>`` (with the extension too where two
    images share a stem)."""
    stems = [f.stem for f in files]
    return [out / (f"{analysis}-{f.stem}" if stems.count(f.stem) == 1 else f"{analysis}-{f.stem}-{f.suffix[1:]}")
            for f in files]


def check(args: argparse.Namespace) -> None:
    """Check what needs no model: the analysis, model name, device, target, formats, image (or dataset) and
    output folder; sets ``args.images``, ``args.stems``, ``args.settings`` and ``args.formats`` (parsed)."""
    names = registry.names()
    if args.analysis not in names:
        raise ArgumentError(f"unknown analysis {args.analysis!r}; analyses: {', '.join(names)}"
                            if args.analysis else f"name an analysis: {', '.join(names)}")
    if args.device not in models.available_devices():
        raise ArgumentError(f"--device {args.device} is not available here; available: "
                            f"{', '.join(models.available_devices())}")
    path = Path(args.model).expanduser()
    if not (args.model == "default" or args.model in models.zoo_names() or path.is_file()
            or models.checkpoint_folder(path) is not None):
        raise ArgumentError(f"--model {args.model!r} is neither 'default', a torchvision model, an existing file nor "
                            "a training checkpoint")
    if args.target is not None and args.target < 0:
        raise ArgumentError(f"--target {args.target}: a class index is 0 or more")
    if args.timeout <= 0:
        raise ArgumentError(f"--timeout {args.timeout:g}: give a positive number of seconds")
    if args.width_mm <= 0 or args.dpi <= 0:
        raise ArgumentError("--width-mm and --dpi must be positive")
    args.formats = parse_formats(args.formats)
    args.settings = parse_sets(args.sets)
    if args.layer is not None:
        args.settings = {"layer": args.layer} | args.settings
    if args.layers is not None:
        args.settings = {"layers": args.layers} | args.settings
    if args.out is None:
        raise ArgumentError("--out is required: the folder the outputs go to")
    if args.out.exists() and not args.out.is_dir():
        raise ArgumentError(f"--out {args.out}: exists and is not a folder")
    kind = registry.get(args.analysis).input
    if kind == "runs":
        _check_runs(args)
        return
    if kind == "dataset":
        _check_data(args)
        return
    if not args.image:
        raise ArgumentError("--image is required: an image file, a bundled sample's name or a folder")
    args.images = image_files(args.image)
    args.stems = output_stems(args.analysis, args.images, args.out)


def _check_data(args: argparse.Namespace) -> None:
    if not args.data:
        raise ArgumentError(f"--data is required for {args.analysis}: an image folder or fashion-mnist:test")
    _check_folder("data", args.data, args.limit)
    if args.analysis == "probe" and not args.test:
        raise ArgumentError("--test is required for probe: the labelled images the probes are scored on")
    if args.test:
        _check_folder("test", args.test, args.limit)
    args.images = []
    args.stems = [args.out / f"{args.analysis}-{data_name(args.data)}"]


def _check_folder(option: str, text: str, limit: int | None) -> None:
    if limit is not None and limit < 1:
        raise ArgumentError(f"--limit {limit}: give a positive number of images")
    if not text.startswith("fashion-mnist:") and not Path(text).expanduser().is_dir():
        raise ArgumentError(f"--{option} {text}: no such folder")


def run_folders(text: str | None) -> list[Path]:
    """The folders ``--runs`` names (comma-separated), each checked to exist."""
    folders = [Path(part.strip()).expanduser() for part in (text or "").split(",") if part.strip()]
    if not folders:
        raise ArgumentError("--runs is required: the training run folders (comma-separated)")
    for folder in folders:
        if not folder.is_dir():
            raise ArgumentError(f"--runs {folder}: no such folder")
    return folders


def _check_runs(args: argparse.Namespace) -> None:
    args.run_folders = run_folders(args.runs)
    if args.data:
        _check_folder("data", args.data, args.limit)
    args.images = []
    stem = args.run_folders[0].resolve().name + (f"-and-{len(args.run_folders) - 1}-more"
                                                  if len(args.run_folders) > 1 else "")
    args.stems = [args.out / f"{args.analysis}-{stem}"]


def data_name(text: str) -> str:
    """The name ``--data`` gives a dataset in file names and captions: the folder's name, or ``fashion-mnist-test``."""
    return text.replace(":", "-") if text.startswith("fashion-mnist:") else Path(text).expanduser().resolve().name


def open_data(text: str, limit: int | None) -> datasets.ImageDataset:
    """The dataset ``--data`` names (the first ``limit`` images); ArgumentError when it cannot be opened."""
    try:
        if text.startswith("fashion-mnist:"):
            return datasets.fashion_mnist(text.partition(":")[2], limit=limit)
        ds = datasets.open_folder(Path(text).expanduser())
    except (OSError, ValueError, KeyError) as error:
        raise ArgumentError(f"--data {text}: {error}") from None
    if limit is None or limit >= len(ds):
        return ds
    return dataclasses.replace(ds, files=ds.files[:limit], labels=None if ds.labels is None else ds.labels[:limit])
