"""What the window shows first: the last model and image from the settings, or the defaults.

Start-up never asks questions: a remembered model that cannot be loaded (weights not cached, file
gone, needs trust) is replaced by the bundled default model with a status message, and a missing image
by the default sample.
"""

from pathlib import Path

from cnnviz.core.data import images
from cnnviz.core.model import models
from cnnviz.gui.app import settings
from cnnviz.gui.runtime.controller import Controller
from cnnviz.gui.runtime.model_spec import ModelSpec


def first_line(error: BaseException) -> str:
    """The first line of an error's message."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def load_default_model(controller: Controller, message: str = "") -> None:
    """Load the bundled model, then show ``message`` (if any) in the status bar."""
    task = controller.load_model(ModelSpec())
    if message:
        task.succeeded.connect(lambda _model: controller.state.show_status(message))
    task.failed.connect(lambda error: controller.state.show_status(
        f"The bundled model could not be loaded: {first_line(error)}"))


def load_model_quietly(controller: Controller, spec: ModelSpec | None) -> None:
    """Load ``spec`` without dialogs or downloads; fall back to the default model on any failure."""
    if spec is None or spec.source == "default":
        load_default_model(controller)
        return
    if spec.device not in models.available_devices():
        spec = spec.with_changes(device="cpu")
    if spec.source == "zoo" and spec.pretrained and not models.is_cached(spec.name):
        load_default_model(controller, f"The weights of {spec.name} are not cached; loaded the default "
                                       "model instead (load it from the Model pane to download them).")
        return
    task = controller.load_model(spec)
    task.failed.connect(lambda error: load_default_model(
        controller, f"Could not restore {spec.short_name} ({first_line(error)}); "
                    "loaded the default model instead."))


def open_default_image(controller: Controller) -> None:
    """Open the default sample image, if the samples are installed."""
    try:
        sample = images.default_sample()
    except (OSError, ValueError, KeyError) as error:
        controller.state.show_status(f"No sample image available: {first_line(error)}")
        return
    controller.open_sample(sample)


def open_image_quietly(controller: Controller, path: Path | None) -> None:
    """Open the image file ``path``; the default sample if there is none or it cannot be read.

    A failure here is only a status message, not a dialog.
    """
    if path is None or not path.is_file():
        open_default_image(controller)
        return

    def failed(error: Exception) -> None:
        controller.state.show_status(f"Could not reopen {path.name}: {first_line(error)}")
        open_default_image(controller)

    controller.open_image(path, quiet=True).failed.connect(failed)


def restore_session(controller: Controller, model: bool = True, image: bool = True) -> None:
    """Load the remembered model and/or image (or the defaults)."""
    if model:
        load_model_quietly(controller, settings.load_model_spec())
    if image:
        open_image_quietly(controller, settings.load_image_path())

