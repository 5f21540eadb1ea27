"""What every pane is built from: the shared state, the controller and the model loader."""

from dataclasses import dataclass

from cnnviz.gui.runtime.app_state import AppState
from cnnviz.gui.runtime.controller import Controller
from cnnviz.gui.runtime.model_loader import ModelLoader


@dataclass(frozen=True)
class PaneContext:
    """Handed to each pane factory.

    ``state`` holds the current model, image and selections and signals their changes;
    ``controller`` starts background work (loading images, forward passes, move to a device);
    ``model_loader`` loads a model for the user, with progress and error dialogs.
    """

    state: AppState
    controller: Controller
    model_loader: ModelLoader
