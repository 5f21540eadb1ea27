"""Context menus of pyqtgraph's view boxes built when first wanted, not with every box.

pyqtgraph gives each ``ViewBox`` whose menu is enabled a ``ViewBoxMenu`` as the box is made: two axis
forms of a dozen widgets each. The window holds dozens of boxes (every plot and colour bar has one) and a
user opens the menu of few, so building them took about a fifth of the time the main window takes to
appear. :func:`lazy_view_box_menus` makes a box start without one and build it on the first right-click
(or the first request for its actions); ``menuEnabled()`` answers as before.
"""

import inspect
from typing import Any

from pyqtgraph.graphicsItems.ViewBox.ViewBox import ViewBox

_MARK = "_cnnviz_lazy_menu"


def lazy_view_box_menus() -> bool:
    """Patch ``ViewBox`` (once per process) as the module docstring says; True when it is patched."""
    if getattr(ViewBox, _MARK, False):
        return True
    original = ViewBox.__init__
    signature = inspect.signature(original)

    def init_without_menu(self: ViewBox, *args: Any, **kwargs: Any) -> None:
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        wanted = bound.arguments["enableMenu"]
        bound.arguments["enableMenu"] = False
        original(*bound.args, **bound.kwargs)
        self.state["enableMenu"] = wanted

    def getMenu(self: ViewBox, ev: Any = None) -> Any:  # noqa: N802 - pyqtgraph's API
        if self.menu is None and self.menuEnabled():
            self._applyMenuEnabled()
        return self.menu

    def getContextMenus(self: ViewBox, event: Any) -> list:  # noqa: N802 - pyqtgraph's API
        menu = self.getMenu(event)
        return menu.actions() if menu is not None and self.menuEnabled() else []

    ViewBox.__init__ = init_without_menu
    ViewBox.getMenu = getMenu
    ViewBox.getContextMenus = getContextMenus
    setattr(ViewBox, _MARK, True)
    return True
