"""The Occlusion pane (:class:`~cnnviz.gui.panes.occlusion.pane.OcclusionPane`): its settings forms, the view of
the occlusion analysis's result and what it shows under the mouse."""

from cnnviz.gui.panes.occlusion.pane import OcclusionPane

__all__ = ["OcclusionPane"]
