"""``cnnviz scan`` and ``cnnviz scan-merge``: dataset scans from the command line, without Qt.

``cnnviz scan --data DIR --out part1.npz --shard 1/4`` scans every fourth image of a folder (the
images whose dataset index % 4 == 0) and saves the index; ``cnnviz scan-merge part*.npz --out
index.npz`` merges the parts of a sharded scan into the index of the whole folder. Nothing here
imports PySide6, pyqtgraph or :mod:`cnnviz.gui` (an import-linter contract checks it), so both run
on cluster nodes without Qt libraries.

Exit status: 0 on success, 1 when a scan failed part-way (its partial index is saved), 2 for a bad
option, folder, model or part, 130 when interrupted (Ctrl-C; the partial index is saved).
"""

import argparse
import math
import sys
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import NoReturn, TextIO

from cnnviz.core.data import datasets
from cnnviz.core.model import models
from cnnviz.core.per_dataset import scan
from cnnviz.core.progress import Step

INTERRUPTED = 130
MAX_K = 1000
MAX_BATCH = 4096
MAX_WORKERS = 256

EXAMPLES = """\
examples:
  cnnviz scan --data photos/ --out index.npz                         every conv's ReLU, top 9 per unit
  cnnviz scan --model squeezenet1_0 --untrained --data photos/ --out index.npz --layers features.3
  cnnviz scan --fashion-mnist test --out fmnist.npz                  the installed Fashion-MNIST test set
  cnnviz scan --data photos/ --out part2.npz --shard 2/4             one of four parts (e.g. a SLURM array task)
  cnnviz scan --data photos/ --out part2.npz --resume part2.npz      continue an interrupted scan
  cnnviz scan-merge part*.npz --out index.npz --data photos/         merge the parts, checking the folder

exit status: 0 on success, 1 when a scan failed part-way, 2 for a bad option, folder, model or part,
130 when interrupted; an interrupted or failed scan saves its partial index to --out (continue it
with --resume).
"""


SKIPPED_LISTED = 20


class UsageError(Exception):
    """A bad option, folder, model or index file: reported on stderr with exit status 2."""


class _Parser(argparse.ArgumentParser):
    """An argument parser that raises :class:`UsageError` (one line: the problem and where help is) instead of
    printing the usage block and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog.removeprefix('cnnviz ')}: {message} (see {self.prog} --help)")


class ProgressLine:
    """The scan's progress on a stream (stderr): images done, images/s and time left.

    On a terminal one line rewritten at most twice a second; elsewhere (a batch job's log) a new line
    at most every ``log_interval_s`` seconds.
    """

    def __init__(self, stream: TextIO, log_interval_s: float = 30.0) -> None:
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.interval = 0.5 if self.tty else log_interval_s
        self.last = float("-inf")
        self.shown = False

    def update(self, done: int, total: int, images_per_s: float) -> None:
        """Show ``done`` of ``total`` images at ``images_per_s`` if the interval has passed (or at the end)."""
        now = time.monotonic()
        if now - self.last < self.interval and done < total:
            return
        self.last = now
        left = (total - done) / images_per_s if images_per_s > 0 else float("nan")
        percent = 100.0 * done / total if total else 100.0
        text = (f"scan: {done}/{total} images ({percent:.0f} %), {images_per_s:.0f} images/s, "
                f"{format_duration(left)} left")
        self.stream.write(f"\r{text:<72}" if self.tty else f"{text}\n")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        """End the terminal line, if one was shown."""
        if self.tty and self.shown:
            self.stream.write("\n")
            self.stream.flush()
        self.shown = False


def format_duration(seconds: float) -> str:
    """``"42 s"``, ``"3:05"`` (min:s) or ``"1:02:03"`` (h:min:s); ``"?"`` when not finite."""
    if not math.isfinite(seconds):
        return "?"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def skipped_lines(skipped: list[tuple[str, str]], limit: int = SKIPPED_LISTED) -> list[str]:
    """``"file: reason"`` for the first ``limit`` skipped images, then ``"... and N more"``."""
    lines = [f"{name}: {reason}" for name, reason in skipped[:limit]]
    if len(skipped) > limit:
        lines.append(f"... and {len(skipped) - limit} more")
    return lines


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/4"`` -> (2, 4): part I of N, 1 <= I <= N; raises argparse.ArgumentTypeError otherwise."""
    try:
        part, count = (int(value) for value in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected I/N such as 1/4, not {text!r}") from None
    if count < 1 or not 1 <= part <= count:
        raise argparse.ArgumentTypeError(f"{text}: I must be between 1 and N (N >= 1)")
    return part, count


def parse_layers(text: str) -> list[str]:
    """``"a,b"`` -> ["a", "b"] (spaces around names ignored); raises argparse.ArgumentTypeError when empty."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected layer names separated by commas, such as features.0,features.3")
    return names


def bounded_int(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an integer in [low, high]."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, not {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    return parse


def _add_data_options(parser: argparse.ArgumentParser, required: bool) -> None:
    data = parser.add_mutually_exclusive_group(required=required)
    data.add_argument("--data", metavar="DIR", type=Path,
                      help="an image folder: one subfolder per class (labels) or flat (no labels); recursive")
    data.add_argument("--fashion-mnist", metavar="SPLIT", choices=("test", "train"),
                      help="the installed Fashion-MNIST set (test or train) instead of --data")


def _add_model_options(parser: argparse.ArgumentParser, default: str | None) -> None:
    parser.add_argument("--model", metavar="NAME|PATH", default=default,
                        help="as the window's --model: 'default' (the bundled Fashion-MNIST network), a "
                             f"torchvision model ({', '.join(models.zoo_names())}) or a .py/.pth/.pt file"
                             + (" (default: default)" if default else ""))
    parser.add_argument("--arch", metavar="NAME", choices=models.zoo_names(),
                        help="the torchvision architecture of a .pth state_dict whose architecture cannot be guessed")
    parser.add_argument("--untrained", action="store_true",
                        help="a torchvision model with random weights instead of downloading the pretrained ones")
    parser.add_argument("--trust", action="store_true",
                        help="allow loading a whole pickled model file (unpickling runs code from the file)")
    parser.add_argument("--device", choices=("cpu", "cuda", "mps"), default="cpu",
                        help="where the model runs (default: cpu)")


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``cnnviz scan ...`` and ``cnnviz scan-merge ...``."""
    parser = _Parser(prog="cnnviz", formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=EXAMPLES, description="Dataset scans: each unit's top images.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{scan,scan-merge}")
    run = commands.add_parser("scan", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXAMPLES,
                              help="scan an image folder: each unit's top-k images and statistics",
                              description="Scan an image folder: for each unit of the chosen layers, the k "
                                          "images where it responds most, and its statistics.")
    _add_model_options(run, "default")
    _add_data_options(run, required=True)
    run.add_argument("--out", metavar="PATH.npz", type=Path, required=True, help="where to save the index")
    run.add_argument("--shard", metavar="I/N", type=parse_shard,
                     help="scan part I of N: the images whose index in the sorted file list %% N == I - 1")
    run.add_argument("--layers", metavar="A,B", type=parse_layers,
                     help="layers to track (default: the ReLU after each conv layer, else the conv)")
    run.add_argument("--k", type=bounded_int(1, MAX_K), help="top images kept per unit (default: 9)")
    run.add_argument("--batch-size", type=bounded_int(1, MAX_BATCH), default=64, help="images per batch (default: 64)")
    run.add_argument("--workers", type=bounded_int(0, MAX_WORKERS),
                     help="image decoding processes (0: decode in this process; default: from the CPU count)")
    run.add_argument("--resume", metavar="PATH.npz", type=Path, help="continue this partial index")
    run.set_defaults(handler=run_scan)
    merge = commands.add_parser("scan-merge", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXAMPLES,
                                help="merge the parts of a sharded scan",
                                description="Merge the indexes of disjoint parts of one folder (cnnviz scan "
                                            "--shard I/N) into the index of the whole.")
    merge.add_argument("parts", metavar="PART.npz", type=Path, nargs="+", help="the parts' index files")
    merge.add_argument("--out", metavar="PATH.npz", type=Path, required=True, help="where to save the merged index")
    _add_data_options(merge, required=False)
    _add_model_options(merge, None)
    merge.set_defaults(handler=run_merge)
    return parser


def main(argv: list[str]) -> int:
    """Run ``cnnviz scan ...`` or ``cnnviz scan-merge ...`` (``argv`` starts with the subcommand's name);
    returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:
        return int(stop.code or 0)
    except UsageError as error:
        return fail(str(error))
    try:
        return int(args.handler(args))
    except UsageError as error:
        return fail(str(error))
    except KeyboardInterrupt:
        return fail("interrupted", INTERRUPTED)


def fail(message: str, status: int = 2) -> int:
    """Print ``cnnviz: message`` on stderr; returns ``status``."""
    sys.stderr.write(f"cnnviz: {message}\n")
    return status


def open_dataset(args: argparse.Namespace) -> datasets.ImageDataset:
    """The dataset ``--data`` or ``--fashion-mnist`` names; UsageError when it cannot be opened."""
    if args.fashion_mnist is not None:
        if not datasets.fashion_mnist_available():
            raise UsageError("Fashion-MNIST is not installed (on Debian/Ubuntu: the dataset-fashion-mnist package)")
        return datasets.fashion_mnist(args.fashion_mnist)
    folder = args.data.expanduser()
    if not folder.is_dir():
        raise UsageError(f"{folder}: " + ("not a folder" if folder.exists() else "no such folder"))
    try:
        return datasets.open_folder(folder)
    except (OSError, ValueError) as error:
        raise UsageError(str(error)) from None


def load_model(args: argparse.Namespace) -> models.LoadedModel:
    """The model ``--model`` names (with --arch, --untrained, --trust, --device); UsageError when it cannot load."""
    text = args.model
    if not (text == "default" or text in models.zoo_names() or Path(text).expanduser().is_file()):
        raise UsageError(f"{text!r} is neither 'default', a torchvision model "
                         f"({', '.join(models.zoo_names())}) nor an existing file.")
    if args.device not in models.available_devices():
        raise UsageError(f"the device {args.device!r} is not available here; available: "
                         f"{', '.join(models.available_devices())}")
    path = text if text == "default" or text in models.zoo_names() else str(Path(text).expanduser().resolve())
    try:
        return models.load(path, pretrained=not args.untrained, trust=args.trust, device=args.device, arch=args.arch)
    except models.UntrustedFileError as error:
        raise UsageError(f"{error}\nPass --trust to load it anyway.") from None
    except models.UnknownArchitectureError as error:
        raise UsageError(f"{error}\nName it with --arch.") from None
    except models.WeightsDownloadError as error:
        raise UsageError(error.for_command_line()) from None
    except models.ModelLoadError as error:
        raise UsageError(str(error)) from None


def check_layers(model: models.LoadedModel, names: list[str] | None) -> list[str] | None:
    """``names`` if every one is a layer the model's forward pass calls; UsageError naming the others."""
    if names is None:
        return None
    known = model.layer_names()
    unknown = [name for name in names if name not in known]
    if unknown:
        raise UsageError(f"{', '.join(unknown)}: no such layer in {model.name}; its default layers: "
                         f"{', '.join(scan.default_layers(model))}")
    return names


def load_resume(args: argparse.Namespace, model: models.LoadedModel, ds: datasets.ImageDataset,
                layers: list[str] | None) -> scan.ScanIndex | None:
    """The index ``--resume`` names, checked against the model, dataset and the other options."""
    if args.resume is None:
        return None
    if not args.resume.is_file():
        raise UsageError(f"{args.resume}: no such index file to resume")
    try:
        index = scan.load(args.resume, model, ds)
    except (OSError, ValueError) as error:
        raise UsageError(f"{args.resume}: {error}") from None
    for option, given, kept in (("--shard", args.shard, index.shard), ("--layers", layers, index.layers),
                                ("--k", args.k, index.k)):
        if given is not None and given != kept:
            raise UsageError(f"{option} differs from the index to resume ({args.resume} has {kept})")
    return index


def run_scan(args: argparse.Namespace) -> int:
    """``cnnviz scan``: open the dataset and the model, check the options, scan and save."""
    if not args.out.expanduser().parent.is_dir():
        raise UsageError(f"{args.out}: the folder to save it in does not exist")
    ds = open_dataset(args)
    model = load_model(args)
    layers = check_layers(model, args.layers)
    resume = load_resume(args, model, ds, layers)
    if resume is not None and not resume.partial:
        return finish(resume, ds, args.out.expanduser(), 0.0, "already complete; ")
    steps = scan.build_steps(model, ds, batch_size=args.batch_size, workers=args.workers, resume=resume,
                             layers=layers if resume is None else resume.layers,
                             k=(args.k or 9) if resume is None else resume.k,
                             shard=args.shard if resume is None else resume.shard)
    return drive(steps, ds, args.out.expanduser(), resume)


Steps = Generator[Step, None, scan.ScanIndex]


def drive(steps: Steps, ds: datasets.ImageDataset, out: Path, last: scan.ScanIndex | None) -> int:
    """Run the scan generator ``steps`` to its end with a progress line on stderr, then save the index to
    ``out``. Ctrl-C or an error saves the last partial index instead (``last`` until the first step)."""
    start = time.monotonic()
    line = ProgressLine(sys.stderr)
    try:
        while True:
            step = next(steps)
            so_far: scan.PartialScan = step.partial
            last = so_far.index
            line.update(step.done, step.total, so_far.images_per_s)
    except StopIteration as stop:
        line.close()
        return finish(stop.value, ds, out, time.monotonic() - start)
    except KeyboardInterrupt:
        line.close()
        return save_partial(last, out, "interrupted", INTERRUPTED)
    except Exception as error:
        line.close()
        return save_partial(last, out, f"the scan failed: {type(error).__name__}: {error}", 1)
    finally:
        steps.close()


def save_partial(index: scan.ScanIndex | None, out: Path, why: str, status: int) -> int:
    """Save the partial ``index`` to ``out`` after an interruption or error and say so; returns ``status``."""
    if index is None or index.scanned == 0:
        return fail(f"{why}; no image was scanned, nothing saved", status)
    try:
        path = index.save(out)
    except OSError as error:
        return fail(f"{why}; the partial index could not be saved: {error}", status)
    return fail(f"{why}; saved the partial index ({index.scanned} of {index.total} images) to {path}; "
                f"continue with --resume {path}", status)


def finish(index: scan.ScanIndex, ds: datasets.ImageDataset, out: Path, seconds: float, note: str = "") -> int:
    """Save the finished ``index`` to ``out``, list skipped images on stderr and print the summary line."""
    try:
        path = index.save(out)
    except OSError as error:
        return fail(f"the index could not be saved: {error}", 1)
    for text in skipped_lines([(ds.files[i], reason) for i, reason in index.skipped]):
        sys.stderr.write(f"cnnviz: skipped {text}\n")
    print(summary(index, seconds, path, note))
    return 0


def summary(index: scan.ScanIndex, seconds: float, path: Path, note: str = "") -> str:
    """One line: images scanned and skipped, layers, k, shard, seconds and the output path."""
    shard = f"shard {index.shard[0]}/{index.shard[1]}: " if index.shard else ""
    partial = f" (PARTIAL: {index.scanned} of {index.total})" if index.partial else ""
    return (f"{shard}{note}{index.scanned - len(index.skipped)} images scanned, {len(index.skipped)} skipped"
            f"{partial}, {len(index.layers)} layers, k={index.k}, {seconds:.1f} s -> {path}")


def read_parts(args: argparse.Namespace) -> list[scan.ScanIndex]:
    """The indexes ``args.parts`` names, checked against --data/--fashion-mnist and --model when given."""
    checked = args.data is not None or args.fashion_mnist is not None
    if checked != (args.model is not None):
        raise UsageError("give both the data (--data or --fashion-mnist) and --model to check the parts, or neither")
    ds = open_dataset(args) if checked else None
    model = load_model(args) if checked else None
    parts = []
    for path in args.parts:
        if not path.is_file():
            raise UsageError(f"{path}: no such index file")
        try:
            parts.append(scan.read(path) if model is None or ds is None else scan.load(path, model, ds))
        except (OSError, ValueError) as error:
            raise UsageError(f"{path}: {error}") from None
    return parts


def check_shards(parts: list[scan.ScanIndex], paths: list[Path]) -> None:
    """UsageError unless the parts are shards I/N with one N, each I once, all complete."""
    for part, path in zip(parts, paths):
        if part.partial:
            raise UsageError(f"{path} is partial ({part.scanned} of {part.total} images); "
                             f"finish it with cnnviz scan --resume {path}")
    shards = [part.shard for part in parts]
    if all(shard is None for shard in shards):
        return
    counts = {shard[1] for shard in shards if shard is not None}
    if None in shards or len(counts) != 1:
        raise UsageError("the parts come from different shardings: "
                         + ", ".join(f"{path} ({'whole' if s is None else f'{s[0]}/{s[1]}'})"
                                     for path, s in zip(paths, shards)))
    count = counts.pop()
    have = sorted(shard[0] for shard in shards if shard is not None)
    missing = sorted(set(range(1, count + 1)) - set(have))
    if len(have) != len(set(have)) or missing:
        twice = sorted({i for i in have if have.count(i) > 1})
        raise UsageError("; ".join(filter(None, [
            f"shard {', '.join(f'{i}/{count}' for i in missing)} missing" if missing else "",
            f"shard {', '.join(f'{i}/{count}' for i in twice)} given twice" if twice else ""])))


def run_merge(args: argparse.Namespace) -> int:
    """``cnnviz scan-merge``: read and check the parts, merge them and save the index of the whole."""
    start = time.monotonic()
    if not args.out.expanduser().parent.is_dir():
        raise UsageError(f"{args.out}: the folder to save it in does not exist")
    parts = read_parts(args)
    check_shards(parts, args.parts)
    try:
        merged = scan.merge(parts)
    except ValueError as error:
        raise UsageError(f"the parts do not fit together: {error}") from None
    try:
        path = merged.save(args.out.expanduser())
    except OSError as error:
        return fail(f"the index could not be saved: {error}", 1)
    print(summary(merged, time.monotonic() - start, path, f"merged {len(parts)} parts; "))
    return 0
