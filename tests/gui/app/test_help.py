"""Help → User guide… (the README's sections, searchable) and Help → Keyboard shortcuts… (collected from the
window's actions and shortcuts)."""

import importlib.metadata
import re
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QKeySequence

from cnnviz.gui.app import guide_text
from cnnviz.gui.app.help_guide import UserGuideDialog, plain_text
from cnnviz.gui.app.shortcut_list import UNDESCRIBED, ShortcutEntry, ShortcutsDialog, collect_shortcuts
from cnnviz.gui.widgets.shortcuts import add_shortcut

README = Path(__file__).resolve().parents[3] / "README.md"


def readme_headings() -> list[tuple[int, str]]:
    """(level, text) of the README's ``##`` and ``###`` headings, outside fenced code."""
    headings, fenced = [], False
    for line in README.read_text(encoding="utf-8").splitlines():
        fenced ^= line.lstrip().startswith("```")
        match = re.match(r"(#{2,3}) (.+)$", line)
        if match and not fenced:
            headings.append((len(match.group(1)), match.group(2).strip()))
    return headings


def open_guide(window) -> UserGuideDialog:
    window.menu_actions["user_guide"].trigger()
    dialog = window.findChild(UserGuideDialog)
    assert dialog is not None and dialog.isVisible() and not dialog.isModal()
    return dialog


def tree_titles(dialog: UserGuideDialog) -> list[tuple[int, str]]:
    """(depth, text) of the guide's list, depth-first; depth 0 for top-level items."""
    titles = []
    for row in range(dialog.tree.topLevelItemCount()):
        item = dialog.tree.topLevelItem(row)
        titles.append((0, item.text(0)))
        titles += [(1, item.child(index).text(0)) for index in range(item.childCount())]
    return titles


def test_the_guide_lists_the_readme_headings_with_subsections_under_theirs(window):
    dialog = open_guide(window)
    headings = readme_headings()
    assert len(headings) >= 10 and (2, "Dataset scan") in headings and (3, "Command line") in headings
    assert tree_titles(dialog) == [(0, "cnnviz")] + [(level - 2, text) for level, text in headings]
    shown = dialog.browser.toPlainText()  # the introduction first, up to the first ## heading
    assert shown.startswith("cnnviz\nA desktop application") and "Quick start" not in shown
    window.menu_actions["user_guide"].trigger()
    assert window.findChildren(UserGuideDialog) == [dialog]  # F1 again raises the same dialog


def test_searching_occlusion_lands_on_its_sections_and_enter_visits_every_match(window, qtbot):
    dialog = open_guide(window)
    qtbot.keyClicks(dialog.search, "Occlusion")
    texts = [plain_text(section.markdown).lower() for section in dialog.sections]
    matching = [index for index, text in enumerate(texts) if "occlusion" in text]
    shown = [index for index, item in enumerate(dialog.items) if not item.isHidden()]
    titles = [dialog.sections[index].title for index in shown]
    assert "Using it" in titles and "Attribution" in titles and "Licence" not in titles
    assert set(matching) <= set(shown) and dialog.current_index() == matching[0]
    visited = []
    for _ in range(sum(texts[index].count("occlusion") for index in matching)):
        qtbot.keyClick(dialog.search, Qt.Key.Key_Return)
        cursor = dialog.browser.textCursor()
        assert cursor.selectedText().lower() == "occlusion"
        assert "occlusion" in dialog.browser.toPlainText().lower()
        visited.append((dialog.current_index(), cursor.position()))
    assert len(set(visited)) == len(visited) and sorted(visited) == visited  # every match once, in order
    assert {section for section, _position in visited} == set(matching)
    qtbot.keyClick(dialog.search, Qt.Key.Key_Return)
    assert (dialog.current_index(), dialog.browser.textCursor().position()) == visited[0]  # wraps around
    marks = dialog.browser.extraSelections()
    assert {mark.cursor.selectedText().lower() for mark in marks} == {"occlusion"}


def test_a_search_without_matches_hides_every_section_and_finds_nothing(window, qtbot):
    dialog = open_guide(window)
    qtbot.keyClicks(dialog.search, "zzqx-no-such-text")
    assert all(item.isHidden() for item in dialog.items)
    assert not dialog.find_next() and dialog.browser.extraSelections() == []
    dialog.search.clear()
    assert not any(item.isHidden() for item in dialog.items)


def test_links_to_headings_show_their_section_and_web_links_open_the_browser(window, monkeypatch):
    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toString()))
    dialog = open_guide(window)
    dialog.open_link(QUrl("#dataset-scan"))
    assert dialog.sections[dialog.current_index()].title == "Dataset scan"
    assert "strongest images" in dialog.browser.toPlainText()
    dialog.open_link(QUrl("https://example.org/cnnviz"))
    assert opened == ["https://example.org/cnnviz"]


def test_fenced_shell_comments_are_not_headings():
    sections = guide_text.split_sections("# T\n\nintro\n\n## A\n\n```bash\n#!/bin/bash\n#SBATCH --array=1-4\n```\n"
                                         "### B #\n\ntext\n")
    assert [(section.level, section.title) for section in sections] == [(1, "T"), (2, "A"), (3, "B")]
    assert "#SBATCH --array=1-4" in sections[1].markdown and sections[2].anchor == "b"
    assert guide_text.slug("Quick start (Linux, Python 3.11+)") == "quick-start-linux-python-311"


def test_an_installed_package_reads_the_readme_from_its_metadata(monkeypatch):
    assert guide_text.checkout_readme() == README
    monkeypatch.setattr(guide_text, "checkout_readme", lambda: None)
    described = importlib.metadata.metadata("cnnviz").get_all("Description")
    assert described and guide_text.readme_text() == described[0]
    assert [section.title for section in guide_text.guide_sections()][1:] == [text for _, text in readme_headings()]
    monkeypatch.setattr(guide_text, "DISTRIBUTION", "cnnviz-not-installed")
    assert guide_text.readme_text() == "" and "not found" in guide_text.guide_sections()[0].markdown


def test_the_shortcut_table_lists_menu_entries_and_pane_keys(window):
    window.menu_actions["shortcuts"].trigger()
    dialog = window.findChild(ShortcutsDialog)
    assert dialog is not None and dialog.isVisible() and not dialog.isModal()
    rows = dialog.rows()
    f1 = QKeySequence(Qt.Key.Key_F1).toString(QKeySequence.SequenceFormat.NativeText)
    assert ("File menu", "Open image…", "Ctrl+O") in rows
    assert ("File menu", "Save session…", "Ctrl+Alt+S") in rows
    assert ("View menu", "Show the figure alone", "F11") in rows
    assert ("Help menu", "Keyboard shortcuts…", "Ctrl+/") in rows
    assert any(row[:2] == ("Help menu", "User guide…") and f1 in row[2].split(", ") for row in rows)
    assert ("Filters", "Previous layer", "PgUp") in rows
    assert ("Activations", "Next channel (in the figure)", "Right") in rows
    assert ("Occlusion", "Run", "Ctrl+R") in rows and ("Occlusion", "Cancel the run", "Esc") in rows
    assert ("Deep dream", "Start", "Ctrl+Return") in rows and ("Deep dream", "Pause or resume the run", "Space") in rows
    assert ("Dataset", "Next page of units", "PgDown") in rows
    assert not [row for row in rows if row[1] == UNDESCRIBED]
    assert len(rows) == len(set(rows))


def test_shortcuts_are_collected_from_the_window_not_a_list(window):
    add_shortcut(window.panes["invariance"], QKeySequence("Ctrl+Alt+K"), lambda: None, "A key added now")
    assert ShortcutEntry("Invariance", "A key added now", "Ctrl+Alt+K") in collect_shortcuts(window)
    window.menu_actions["open_image"].setShortcut(QKeySequence("Ctrl+Shift+I"))
    entries = collect_shortcuts(window)
    assert ShortcutEntry("File menu", "Open image…", "Ctrl+Shift+I") in entries
    assert not [entry for entry in entries if entry.keys == "Ctrl+O"]
