"""Help → User guide… (F1): the README inside the app, one section at a time, searchable.

A non-modal dialog: the README's sections (:mod:`~cnnviz.gui.app.guide_text`; ``###`` under their ``##``) on
the left, the chosen one rendered from Markdown on the right. The search box keeps the sections whose text
contains what is typed (ignoring case), marks every match in the shown section and, with Enter, selects the
next match, going on to the next section that has one. Web links open in the browser, links to a heading
(``#dataset-scan``) show that section. Images are not shown.
"""

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QColor, QDesktopServices, QTextCursor, QTextDocument
from PySide6.QtWidgets import (
    QDialog,
    QLineEdit,
    QSplitter,
    QTextBrowser,
    QTextEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cnnviz.gui.app.guide_text import GuideSection, guide_sections

MATCH_COLOUR = QColor("#fff59d")
"""Background of every match of the search in the shown section."""
CURRENT_COLOUR = QColor("#ffb74d")
"""Background of the match Enter went to."""
WEB_SCHEMES = ("http", "https", "mailto")
DIALOG_SIZE = (960, 680)


def plain_text(markdown: str) -> str:
    """What ``markdown`` shows as text once rendered (what the search looks in)."""
    document = QTextDocument()
    document.setMarkdown(markdown)
    return document.toPlainText()


class UserGuideDialog(QDialog):
    """The user guide: ``tree`` (one item per section, the item's ``data(0, UserRole)`` its index in
    ``sections``), ``browser`` (the section shown) and ``search`` (filter and find; Enter: next match)."""

    def __init__(self, parent: QWidget | None = None, sections: list[GuideSection] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("cnnviz user guide")
        self.sections = sections if sections is not None else guide_sections()
        self._plain = [plain_text(section.markdown).lower() for section in self.sections]
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search the guide…")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Show the sections that contain this text and mark it (Enter: next match)")
        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.tree.setToolTip("The guide's sections (the README's headings)")
        self.browser = QTextBrowser()
        self.browser.setOpenLinks(False)
        self.items = self._fill_tree()
        self._arrange()
        self.tree.currentItemChanged.connect(lambda item, _previous: self._show(item))
        self.search.textChanged.connect(lambda _text: self.filter())
        self.search.returnPressed.connect(self.find_next)
        self.browser.anchorClicked.connect(self.open_link)
        self.tree.setCurrentItem(self.items[0])

    @property
    def query(self) -> str:
        """The search text, lower case and trimmed ("" when there is none)."""
        return self.search.text().strip().lower()

    def current_index(self) -> int:
        """The index in ``sections`` of the section shown (-1 when none is)."""
        item = self.tree.currentItem()
        return -1 if item is None else int(item.data(0, Qt.ItemDataRole.UserRole))

    def matching(self) -> list[int]:
        """The indices of the sections whose rendered text contains the search (every section when it is empty)."""
        query = self.query
        return [index for index, text in enumerate(self._plain) if query in text]

    def show_section(self, index: int) -> None:
        """Show section ``index`` from its start (and select it in the list)."""
        item = self.items[index]
        if self.tree.currentItem() is item:
            self._show(item)
        else:
            self.tree.setCurrentItem(item)

    def filter(self) -> None:
        """Hide the sections without the search (a ``##`` stays while one of its ``###`` matches); show the first
        match if the shown section has none; mark the matches."""
        matching = set(self.matching())
        for index, item in reversed(list(enumerate(self.items))):  # a section's children before it
            children = (item.child(row) for row in range(item.childCount()))
            item.setHidden(index not in matching and all(child is None or child.isHidden() for child in children))
            item.setExpanded(True)
        if matching and self.current_index() not in matching:
            self.show_section(min(matching))
        else:
            self._mark()

    def find_next(self) -> bool:
        """Select the next match after the cursor, in this section or the next one that has one (wrapping
        around); False when nothing matches."""
        query = self.query
        matching = self.matching() if query else []
        if not matching:
            return False
        if not self.browser.find(query):
            later = [index for index in matching if index > self.current_index()]
            self.show_section((later or matching)[0])
            self.browser.find(query)
        self._mark()
        return True

    def open_link(self, url: QUrl) -> None:
        """A web link opens in the browser; a link to a heading shows its section."""
        if url.scheme() in WEB_SCHEMES:
            QDesktopServices.openUrl(url)
            return
        anchor = url.fragment()
        for index, section in enumerate(self.sections):
            if anchor and section.anchor == anchor:
                self.show_section(index)
                return

    def _fill_tree(self) -> list[QTreeWidgetItem]:
        items: list[QTreeWidgetItem] = []
        parent: QTreeWidgetItem | None = None
        for index, section in enumerate(self.sections):
            item = QTreeWidgetItem([section.title or "Introduction"])
            item.setData(0, Qt.ItemDataRole.UserRole, index)
            if section.level == 3 and parent is not None:
                parent.addChild(item)
            else:
                self.tree.addTopLevelItem(item)
                parent = item
            items.append(item)
        self.tree.expandAll()
        return items

    def _arrange(self) -> None:
        splitter = QSplitter()
        splitter.addWidget(self.tree)
        splitter.addWidget(self.browser)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([240, DIALOG_SIZE[0] - 240])
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(splitter, 1)
        self.resize(*DIALOG_SIZE)

    def _show(self, item: QTreeWidgetItem | None) -> None:
        if item is None:
            return
        self.browser.setMarkdown(self.sections[int(item.data(0, Qt.ItemDataRole.UserRole))].markdown)
        self.browser.moveCursor(QTextCursor.MoveOperation.Start)
        self._mark()

    def _mark(self) -> None:
        """Colour every match of the search in the shown section, the selected one more strongly."""
        query, document = self.query, self.browser.document()
        marks: list[QTextEdit.ExtraSelection] = []
        cursor = document.find(query) if query else QTextCursor()
        while not cursor.isNull():
            marks.append(self._mark_at(cursor, MATCH_COLOUR))
            cursor = document.find(query, cursor)
        if query and self.browser.textCursor().hasSelection():
            marks.append(self._mark_at(self.browser.textCursor(), CURRENT_COLOUR))
        self.browser.setExtraSelections(marks)

    @staticmethod
    def _mark_at(cursor: QTextCursor, colour: QColor) -> QTextEdit.ExtraSelection:
        mark = QTextEdit.ExtraSelection()
        mark.cursor = cursor
        mark.format.setBackground(colour)
        return mark


def show_user_guide(parent: QWidget) -> UserGuideDialog:
    """Show the user guide beside ``parent`` (non-modal; the one already open is raised, keeping its place)."""
    dialog = parent.findChild(UserGuideDialog)
    if dialog is None:
        dialog = UserGuideDialog(parent)
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    return dialog
