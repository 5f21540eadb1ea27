"""The export folder, formats and options are one remembered value for every pane: an export from one pane is
what the next export dialog proposes in any other (the file name stays the pane's own), and the report and the
screenshot dialogs start in the same folder."""

from export_answers import answer_export
from PySide6.QtWidgets import QFileDialog

from cnnviz.core.files.report import ReportItem
from cnnviz.gui.panes.report.figure_image import figure_png
from cnnviz.gui.runtime import settings_store
from cnnviz.gui.widgets.figure_export_dialog import FigureExportDialog
from cnnviz.gui.widgets.figure_render import ExportOptions

TIMEOUT_MS = 60_000


def test_an_export_from_occlusion_is_proposed_in_filters(loaded_window, show_pane, qtbot, monkeypatch, tmp_path):
    window = loaded_window
    filters = window.panes["filters"]
    assert filters.export.folder != tmp_path / "x"  # made before the export below
    occlusion = show_pane(window, "occlusion")
    occlusion.form.set_values({"window": 14, "stride": 14})
    occlusion.run()
    qtbot.waitUntil(lambda: not occlusion.running and occlusion.settled, timeout=TIMEOUT_MS)
    folder = tmp_path / "x"
    chosen = ExportOptions(width_mm=85.0, dpi=200, caption=False)
    answer_export(monkeypatch, folder / "occ.png", ("png", "pdf"), chosen)
    written = occlusion.export.export()
    assert [path.name for path in written] == ["occ.png", "occ.pdf"]

    show_pane(window, "filters")
    asked = []
    answer_export(monkeypatch, folder / "filt.png", ("png",), asked=asked)
    assert filters.export.export() == [folder / "filt.png"]
    proposed, formats, options = asked[0]
    assert proposed == str(folder / f"cnnviz-{filters.export.name()}.png") and "filters" in proposed
    assert formats == ("png", "pdf") and options == chosen
    assert settings_store.export_folder() == folder

    report_start = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda _parent, _title, start, *_args:
                        report_start.append(start) or ("", ""))
    report = window.panes["report"]
    report.add(ReportItem.of("Filters", figure_png(filters), filters.caption()))
    assert report.export_report() is None  # cancelled: only the folder it started in matters here
    assert report_start == [str(folder / "cnnviz-report.html")]
    dialog = window.export_screenshot()
    try:
        assert dialog.path() == folder / "cnnviz-window.png"
    finally:
        dialog.reject()


def test_remembered_formats_the_pane_does_not_offer_fall_back_to_png(qtbot, tmp_path):
    dialog = FigureExportDialog(tmp_path / "f.png", ("npy", "csv"), ExportOptions(), data_formats=())
    qtbot.addWidget(dialog)
    assert dialog.formats() == ("png",)
