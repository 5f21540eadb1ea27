"""The leak check of the ``no_leaked_widgets`` fixture finds new top-level widgets, and only those."""

from PySide6.QtWidgets import QDialog, QLabel, QMenu, QWidget
from widget_leaks import delete_pending, new_top_level_widgets, top_level_addresses


def test_a_widget_left_alive_is_reported_by_class_and_object_name(qtbot):
    before = top_level_addresses()
    leaked = QWidget()
    leaked.setObjectName("deliberate_leak")
    menu = QMenu()  # a window even when never shown
    try:
        assert new_top_level_widgets(before) == ["QMenu('')", "QWidget('deliberate_leak')"]
    finally:
        leaked.deleteLater()
        menu.deleteLater()
    assert new_top_level_widgets(before) == []


def test_children_deleted_widgets_and_older_windows_are_not_reported(qtbot):
    older = QWidget()
    before = top_level_addresses()
    parent = QWidget()
    QLabel("child", parent)
    QMenu(parent)  # a window, but deleted with its parent
    closed = QDialog()
    closed.close()
    closed.deleteLater()
    parent.deleteLater()
    assert new_top_level_widgets(before) == []
    assert top_level_addresses() >= before
    older.deleteLater()
    delete_pending()
