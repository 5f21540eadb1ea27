"""The panes of the main window, registered in one place.

A pane is a QWidget built by ``factory(context)`` from a :class:`~cnnviz.gui.panes.pane_context.PaneContext`.
Central panes become pages of the tool list, in list order under their group's heading; dock panes go to the
named side of the window. Adding a tool is one line in :data:`CENTRAL_PANES`, e.g.
``Pane("filters", "Filters", FiltersPane, group=IMAGE_TOOLS)``. The keys are the names ``cnnviz --pane`` accepts.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from PySide6.QtWidgets import QWidget

from cnnviz.gui.panes.activations.pane import ActivationsPane
from cnnviz.gui.panes.architecture import ArchitecturePane
from cnnviz.gui.panes.attribution.pane import AttributionPane
from cnnviz.gui.panes.dataset.pane import DatasetPane
from cnnviz.gui.panes.deconv.pane import DeconvPane
from cnnviz.gui.panes.dream.pane import DreamPane
from cnnviz.gui.panes.features.pane import FeaturesPane
from cnnviz.gui.panes.filters.pane import FiltersPane
from cnnviz.gui.panes.image import ImagePane
from cnnviz.gui.panes.input import InputPane
from cnnviz.gui.panes.invariance.pane import InvariancePane
from cnnviz.gui.panes.model import ModelPane
from cnnviz.gui.panes.occlusion import OcclusionPane
from cnnviz.gui.panes.pane_context import PaneContext
from cnnviz.gui.panes.predictions import PredictionsPane
from cnnviz.gui.panes.report.pane import ReportPane
from cnnviz.gui.panes.training.pane import TrainingPane

Area = Literal["central", "left", "right", "bottom"]


@dataclass(frozen=True)
class Pane:
    """A pane: ``key`` for the command line and object names, ``title`` for the tool list, docks and menus,
    ``group`` the heading it is listed under (central panes)."""

    key: str
    title: str
    factory: Callable[[PaneContext], QWidget]
    area: Area = "central"
    group: str = ""


IMAGE_TOOLS = "This image"
DATASET_TOOLS = "Dataset"
TRAINING_TOOLS = "Training"


CENTRAL_PANES: list[Pane] = [
    Pane("input", "Input", InputPane, group=IMAGE_TOOLS),
    Pane("filters", "Filters", FiltersPane, group=IMAGE_TOOLS),
    Pane("activations", "Activations", ActivationsPane, group=IMAGE_TOOLS),
    Pane("deconvnet", "Deconvnet", DeconvPane, group=IMAGE_TOOLS),
    Pane("dream", "Deep dream", DreamPane, group=IMAGE_TOOLS),
    Pane("occlusion", "Occlusion", OcclusionPane, group=IMAGE_TOOLS),
    Pane("attribution", "Attribution", AttributionPane, group=IMAGE_TOOLS),
    Pane("invariance", "Invariance", InvariancePane, group=IMAGE_TOOLS),
    Pane("dataset", "Dataset", DatasetPane, group=DATASET_TOOLS),
    Pane("features", "Feature space", FeaturesPane, group=DATASET_TOOLS),
    Pane("training", "Training", TrainingPane, group=TRAINING_TOOLS),
]

DOCK_PANES: list[Pane] = [
    Pane("model", "Model", ModelPane, "left"),
    Pane("image", "Image", ImagePane, "left"),
    Pane("predictions", "Predictions", PredictionsPane, "right"),
    Pane("report", "Report", ReportPane, "right"),
    Pane("architecture", "Architecture", ArchitecturePane, "bottom"),
]


def all_panes() -> list[Pane]:
    """Dock panes, then central panes."""
    return DOCK_PANES + CENTRAL_PANES


def pane_keys() -> list[str]:
    """The keys of every pane, for ``--pane``."""
    return [pane.key for pane in all_panes()]
