"""Help → Keyboard shortcuts… (Ctrl+/): every shortcut of the window, collected from its widgets when asked.

Nothing here lists keys by hand: the menus' actions give their text and keys (grouped by menu, e.g. "File
menu → Samples"); the other actions and the :class:`~PySide6.QtGui.QShortcut` objects of the window and its
panes (layer and channel keys, Run and Cancel, Pause…) are grouped by the pane that holds them, a shortcut
described by its What's This text (:func:`~cnnviz.gui.widgets.shortcuts.add_shortcut`'s ``description``).
"""

import re
from dataclasses import dataclass

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QMainWindow,
    QMenu,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cnnviz.gui.app.registry import all_panes

WINDOW_GROUP = "Window"
"""The group of a shortcut that belongs to no menu and no pane."""
UNDESCRIBED = "(no description)"
COLUMNS = ("Where", "Action", "Keys")


@dataclass(frozen=True)
class ShortcutEntry:
    """One shortcut: ``group`` (a menu, "File menu", or a pane's title), ``text`` (what it does, without
    mnemonic ampersands) and ``keys`` (as the platform writes them, e.g. "Ctrl+O"; several joined by ", ")."""

    group: str
    text: str
    keys: str


def key_text(sequences: list[QKeySequence]) -> str:
    """``sequences`` as the platform writes them, joined by ", " (empty ones left out)."""
    return ", ".join(sequence.toString(QKeySequence.SequenceFormat.NativeText)
                     for sequence in sequences if not sequence.isEmpty())


def without_mnemonics(text: str) -> str:
    """A menu text without its mnemonic marks ("&Open image…" -> "Open image…", "&&" -> "&")."""
    return re.sub(r"&(.)", r"\1", text)


def menu_shortcuts(menu: QMenu, group: str) -> tuple[list[ShortcutEntry], list[QAction]]:
    """The shortcuts of ``menu`` and its submenus (a submenu's group is ``group → its title``), and every action
    looked at."""
    entries: list[ShortcutEntry] = []
    actions: list[QAction] = []
    for action in menu.actions():
        actions.append(action)
        submenu = action.menu()
        if isinstance(submenu, QMenu):
            more, seen = menu_shortcuts(submenu, f"{group} → {without_mnemonics(submenu.title())}")
            entries += more
            actions += seen
        elif keys := key_text(action.shortcuts()):
            entries.append(ShortcutEntry(group, without_mnemonics(action.text()), keys))
    return entries, actions


def pane_titles(panes: dict[str, QWidget]) -> list[tuple[QWidget, str]]:
    """(widget, title) of each pane of ``panes`` (key -> widget), in order; the title from the pane registry."""
    titles = {pane.key: pane.title for pane in all_panes()}
    return [(widget, titles.get(key, key)) for key, widget in panes.items()]


def owner_group(window: QMainWindow, thing: QObject, panes: list[tuple[QWidget, str]]) -> str:
    """The title of the pane of ``panes`` that holds ``thing`` (an action or shortcut), or :data:`WINDOW_GROUP`."""
    holder: QObject | None = thing
    while holder is not None and holder is not window:
        title = next((title for widget, title in panes if widget is holder), None)
        if title is not None:
            return title
        holder = holder.parent()
    return WINDOW_GROUP


def window_menu_shortcuts(window: QMainWindow) -> tuple[list[ShortcutEntry], list[QAction]]:
    """The shortcuts of ``window``'s menus in menu bar order (group "File menu"…), and every action looked at."""
    entries: list[ShortcutEntry] = []
    looked_at: list[QAction] = []
    for action in window.menuBar().actions():
        menu = action.menu()
        looked_at.append(action)
        if isinstance(menu, QMenu):
            more, seen = menu_shortcuts(menu, f"{without_mnemonics(action.text())} menu")
            entries += more
            looked_at += seen
    return entries, looked_at


def held_shortcuts(window: QMainWindow, skip: list[QAction], panes: list[tuple[QWidget, str]]) -> list[ShortcutEntry]:
    """The shortcuts of ``window``'s actions other than ``skip`` and of its QShortcuts, grouped by the pane that
    holds them (in the order of ``panes``, then :data:`WINDOW_GROUP`)."""
    entries = [ShortcutEntry(owner_group(window, action, panes), without_mnemonics(action.text()),
                             key_text(action.shortcuts()))
               for action in window.findChildren(QAction) if not any(action is seen for seen in skip)]
    entries += [ShortcutEntry(owner_group(window, shortcut, panes), shortcut.whatsThis() or UNDESCRIBED,
                              key_text(shortcut.keys()))
                for shortcut in window.findChildren(QShortcut)]
    order = [title for _widget, title in panes] + [WINDOW_GROUP]
    return sorted((entry for entry in entries if entry.keys), key=lambda entry: order.index(entry.group))


def collect_shortcuts(window: QMainWindow, panes: dict[str, QWidget] | None = None) -> list[ShortcutEntry]:
    """Every shortcut of ``window``, without repeats: its menus' (:func:`window_menu_shortcuts`), then those of
    its other actions and QShortcuts by pane (:func:`held_shortcuts`); ``panes`` maps pane keys to their widgets
    (default: ``window.panes``)."""
    named = pane_titles(panes if panes is not None else getattr(window, "panes", {}))
    entries, looked_at = window_menu_shortcuts(window)
    return list(dict.fromkeys(entries + held_shortcuts(window, looked_at, named)))


class ShortcutsDialog(QDialog):
    """The table of shortcuts (``table``: Where, Action, Keys), filled by :meth:`fill`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setToolTip("Every keyboard shortcut of the window; a pane's keys work while it has the focus")
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        self.resize(640, 560)

    def fill(self, entries: list[ShortcutEntry]) -> None:
        """Show ``entries``, one row each, the group named on its first row only."""
        self.table.setRowCount(len(entries))
        for row, entry in enumerate(entries):
            first = row == 0 or entries[row - 1].group != entry.group
            for column, text in enumerate((entry.group if first else "", entry.text, entry.keys)):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()

    def rows(self) -> list[tuple[str, str, str]]:
        """The table's rows as (where, action, keys), the group repeated on every row."""
        rows: list[tuple[str, str, str]] = []
        for row in range(self.table.rowCount()):
            cells = (self.table.item(row, column) for column in range(len(COLUMNS)))
            where, text, keys = (cell.text() if cell is not None else "" for cell in cells)
            rows.append((where or (rows[-1][0] if rows else ""), text, keys))
        return rows


def show_shortcuts(window: QMainWindow) -> ShortcutsDialog:
    """Show the shortcuts of ``window`` as they are now (non-modal; the dialog already open is refilled and
    raised)."""
    dialog = window.findChild(ShortcutsDialog)
    if dialog is None:
        dialog = ShortcutsDialog(window)
    dialog.fill(collect_shortcuts(window))
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    return dialog
