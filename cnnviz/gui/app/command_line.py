"""The window side of the ``cnnviz`` command: open the window, or render it headless to a PNG with
``--screenshot``. :mod:`cnnviz.cli` sends the ``scan`` and ``scan-merge`` subcommands to :mod:`cnnviz.scan_cli`
instead, which needs no Qt."""

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QEventLoop, Qt, QTimer

from cnnviz import __version__
from cnnviz.core.data import images
from cnnviz.core.files.session_file import read_session
from cnnviz.core.model import models
from cnnviz.core.model.models import LoadedModel
from cnnviz.core.progress import ProgressFn
from cnnviz.gui.app import settings
from cnnviz.gui.app.application import create_application
from cnnviz.gui.app.main_window import MainWindow, screen_is_small
from cnnviz.gui.app.registry import pane_keys
from cnnviz.gui.app.startup import restore_session
from cnnviz.gui.runtime.model_spec import ModelSpec, load_model, model_file_exists, spec_from_text
from cnnviz.gui.runtime.worker import running_jobs
from cnnviz.gui.widgets.labels import format_bytes
from cnnviz.gui.widgets.screenshot import save_png

DEFAULT_SCREENSHOT_SIZE = (1400, 900)
SCREENSHOT_TIMEOUT_S = 600.0

EXAMPLES = """\
examples:
  cnnviz                                   open the window (last model and image, or the defaults)
  cnnviz --model resnet18 --image cat.jpg  torchvision's ResNet-18 (weights downloaded once)
  cnnviz --model alexnet --untrained       AlexNet with random weights, no download
  cnnviz --model my_net.py                 a Python file defining build() -> nn.Module
  cnnviz --session study.cnnviz            a saved session: its model, image, tab and pane settings
  QT_QPA_PLATFORM=offscreen cnnviz --screenshot shot.png --pane architecture

subcommands (no window, no Qt needed; see `cnnviz scan --help`):
  cnnviz scan --data DIR --out part1.npz --shard 1/4     scan an image folder: each unit's top images
  cnnviz scan-merge part*.npz --out index.npz           merge the parts of a sharded scan

batch analyses (off screen; see `cnnviz run --help`):
  cnnviz run occlusion --image cat.jpg --out results     the Occlusion pane's figure, data and parameters

exit status: 0 on success, 2 for a bad option, image or model (the reason is printed on stderr).
"""


def parse_size(text: str) -> tuple[int, int]:
    """``"1400x900"`` -> (1400, 900); raises argparse.ArgumentTypeError for anything else."""
    parts = text.lower().replace("×", "x").split("x")
    try:
        width, height = (int(part) for part in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 1400x900, not {text!r}") from None
    if not (200 <= width <= 10000 and 200 <= height <= 10000):
        raise argparse.ArgumentTypeError(f"{text}: width and height must be between 200 and 10000")
    return width, height


def build_parser(pane_names: list[str]) -> argparse.ArgumentParser:
    """The argument parser; ``pane_names`` are the values ``--pane`` accepts."""
    parser = argparse.ArgumentParser(
        prog="cnnviz", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXAMPLES,
        description="Explore what convolutional networks learn: the predictions, architecture and\n"
                    "receptive fields of a model on an image, and the tool panes built on them.")
    parser.add_argument(
        "--model", metavar="NAME|PATH",
        help="the model to load: 'default' (the bundled Fashion-MNIST network), a torchvision "
             f"model ({', '.join(models.zoo_names())}), or a file: a .py defining build(), or a "
             ".pth/.pt state_dict or whole model. Without it the window reopens the last model "
             "(a screenshot uses 'default').")
    parser.add_argument(
        "--arch", metavar="NAME", choices=models.zoo_names(),
        help="the torchvision architecture of a .pth state_dict whose architecture cannot be guessed")
    parser.add_argument(
        "--image", metavar="PATH",
        help="the image to open: a file (PNG, JPEG, BMP, GIF, TIFF, WebP) or the name of a bundled "
             "sample. Without it the window reopens the last image (a screenshot uses the default "
             "sample).")
    parser.add_argument(
        "--device", choices=("cpu", "cuda", "mps"), default="cpu",
        help="where the model runs (default: cpu); cuda and mps only where available")
    parser.add_argument(
        "--untrained", action="store_true",
        help="load a torchvision model with random weights instead of downloading the pretrained ones")
    parser.add_argument(
        "--trust", action="store_true",
        help="allow loading a whole pickled model from --model PATH, or running the Python model file a "
             "--session names without asking; both run code from the file, so only use it for files you trust")
    parser.add_argument(
        "--session", metavar="FILE", type=Path,
        help="open a session saved with File → Save session… (.cnnviz): its model, image, target, tab "
             "and every pane's settings (not with --model, --image or --screenshot)")
    parser.add_argument(
        "--screenshot", metavar="OUT.png", type=Path,
        help="do not open the window: render it off screen once the model, image, predictions and "
             "layer table are shown, save it as PNG and exit (works with QT_QPA_PLATFORM=offscreen)")
    parser.add_argument(
        "--pane", metavar="NAME", choices=pane_names,
        help=f"with --screenshot, capture only this pane instead of the whole window; otherwise bring "
             f"it to the front. One of: {', '.join(pane_names)}")
    parser.add_argument(
        "--size", metavar="WxH", type=parse_size,
        help="window size in pixels (default for --screenshot: "
             f"{DEFAULT_SCREENSHOT_SIZE[0]}x{DEFAULT_SCREENSHOT_SIZE[1]})")
    parser.add_argument("--version", action="version", version=f"cnnviz {__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run cnnviz with the command-line arguments ``argv`` (default: ``sys.argv[1:]``).

    Run as the command (``argv`` None), the process ends at once if a background job is still stuck
    in user code when the window has closed (see :func:`exit_now_if_stuck`); called with a list
    (as tests do), it always returns.
    """
    status = _run(argv)
    if argv is None:
        exit_now_if_stuck(status)
    return status


def exit_now_if_stuck(status: int) -> None:
    """End the process with ``status`` right away (``os._exit``) if a worker job is still running.

    Closing the window waits only a bounded time for jobs to stop; one stuck in user code (a model
    file's ``build()`` that sleeps, a long C call) runs on in its daemon thread. A normal exit would
    then tear down the interpreter, torch and Qt while that thread may still use them, which can
    hang or crash, so this skips the teardown after flushing the standard streams.
    """
    if running_jobs() == 0:
        return
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(status)


def _run(argv: list[str] | None) -> int:
    parser = build_parser(pane_keys())
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:
        return int(stop.code or 0)
    if args.device not in models.available_devices():
        return fail(f"The device {args.device!r} is not available here; available: "
                     f"{', '.join(models.available_devices())}.")
    if args.model is not None and not model_exists(args.model):
        return fail(f"{args.model!r} is neither 'default', a torchvision model "
                     f"({', '.join(models.zoo_names())}) nor an existing file.")
    if args.session is not None:
        problem = _session_problem(args)
        if problem:
            return fail(problem)
    image = None
    if args.image is not None:
        try:
            image = load_image_arg(args.image)
        except images.ImageLoadError as error:
            return fail(str(error))
    if args.screenshot is not None:
        return _screenshot(args, image)
    return _interactive(args, image)


def _session_problem(args: argparse.Namespace) -> str:
    """Why ``--session`` cannot be used as given ("" if it can)."""
    if args.model is not None or args.image is not None or args.screenshot is not None:
        return "--session opens the session's own model and image; leave out --model, --image and --screenshot."
    try:
        read_session(args.session)
    except (OSError, ValueError) as error:
        return f"Cannot open the session {args.session}: {error}"
    return ""


def model_exists(text: str) -> bool:
    """True if ``text`` names a model: 'default', a torchvision model, an existing file or a training
    checkpoint."""
    return text == "default" or text in models.zoo_names() or model_file_exists(text)


def load_image_arg(text: str) -> tuple[Image.Image, str, Path]:
    """The image named on the command line: a file, or else a bundled sample's name."""
    path = Path(text).expanduser()
    if not path.exists():
        try:
            path = images.sample(text).path
        except (KeyError, OSError, ValueError):
            pass
    return images.load_image(path), path.name, path.resolve()


def fail(message: str, status: int = 2) -> int:
    """Print ``cnnviz: message`` on stderr; returns ``status`` (2: a bad argument, 1: a failure)."""
    sys.stderr.write(f"cnnviz: {message}\n")
    return status


def use_offscreen_without_display() -> None:
    """Let Qt draw off screen (``QT_QPA_PLATFORM=offscreen``) when no platform or display is set."""
    if not any(os.environ.get(name) for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"


def load_model_arg(spec: ModelSpec) -> LoadedModel:
    """Load the model named on the command line, printing a download's progress on stderr. Raises
    :class:`~cnnviz.core.model.models.ModelLoadError` whose message says what to do (pass --trust, name --arch)."""
    try:
        return load_model(spec, progress=download_progress())
    except models.UntrustedFileError as error:
        raise models.ModelLoadError(f"{error}\nPass --trust to load it anyway.") from None
    except models.UnknownArchitectureError as error:
        raise models.ModelLoadError(f"{error}\nName it with --arch.") from None
    except models.WeightsDownloadError as error:
        raise models.ModelLoadError(error.for_command_line()) from None


def model_spec(args: argparse.Namespace) -> ModelSpec:
    """The model the options ``model``, ``untrained``, ``arch``, ``trust`` and ``device`` of ``args`` ask for."""
    return spec_from_text(args.model or "default", pretrained=not args.untrained, arch=args.arch,
                          trust=args.trust, device=args.device)


def download_progress() -> ProgressFn:
    """A progress callback printing a weights download's progress on stderr, twice a second."""
    last = [0.0]

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.5 or done == total:
            last[0] = now
            of = f" of {format_bytes(total)}" if total else ""
            sys.stderr.write(f"\rdownloading weights: {format_bytes(done)}{of}   ")
            if done == total:
                sys.stderr.write("\n")

    return report


def _screenshot(args: argparse.Namespace, image: tuple[Image.Image, str, Path] | None) -> int:
    use_offscreen_without_display()
    spec = model_spec(args)
    try:
        model = load_model_arg(spec)
    except models.ModelLoadError as error:
        return fail(str(error))
    if image is None:
        try:
            image = load_image_arg(str(images.default_sample().path))
        except (images.ImageLoadError, OSError, KeyError, ValueError) as error:
            return fail(f"The default sample image could not be loaded: {error}")

    app = create_application()
    window = MainWindow(remember=False)
    try:
        window.resize(*(args.size or DEFAULT_SCREENSHOT_SIZE))
        window.fit_docks_to_width()
        window.controller.set_model(model, spec)
        window.controller.set_image(*image)
        target = window.capture_target(args.pane or "window")
        window.show()
        if not wait_until(lambda: window.controller.settled, SCREENSHOT_TIMEOUT_S):
            return fail("timed out waiting for the window to show the model and image", 1)
        app.processEvents()
        path = save_png(target, args.screenshot)
    except OSError as error:
        return fail(str(error))
    finally:
        window.close()
        window.deleteLater()
        app.processEvents()
    size = Image.open(path).size
    sys.stdout.write(f"saved {path} ({size[0]}×{size[1]})\n")
    return 0


def _interactive(args: argparse.Namespace, image: tuple[Image.Image, str, Path] | None) -> int:
    app = create_application()
    window = MainWindow(remember=True)
    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # the Python side may outlive exec()
    if args.size:
        window.resize(*args.size)
        window.fit_docks_to_width()
    if args.pane:
        target = window.capture_target(args.pane)
        target.raise_()
    if not args.size and screen_is_small(window) and settings.load_window()[0] is None:
        window.showMaximized()
    else:
        window.show()
    if args.session is not None:
        window.sessions.trust_code = args.trust  # without --trust, the window asks before running its model code
        window.sessions.open(args.session)
        return int(app.exec())
    restore_session(window.controller, model=args.model is None, image=image is None)
    if image is not None:
        window.controller.set_image(*image)
    if args.model is not None:
        spec = model_spec(args)
        if spec.source == "default":
            window.model_loader.load(spec)
        else:
            # The bundled model first, so that the window has a model while the requested one
            # loads, and keeps it if that fails or is cancelled.
            first = window.controller.load_model(ModelSpec(device=args.device))
            first.finished.connect(lambda: window.model_loader.load(spec))
    return int(app.exec())


def wait_until(condition: Callable[[], bool], timeout_s: float) -> bool:
    """Run the event loop until ``condition()`` is true (checked every 20 ms) or the time is up."""
    deadline = time.monotonic() + timeout_s
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: loop.quit() if condition() or time.monotonic() > deadline else None)
    timer.start()
    if not condition():
        loop.exec()
    timer.stop()
    return bool(condition())
