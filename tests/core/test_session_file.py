"""Session files: a round trip keeps every field, the image's pixels, the dataset and the report's figures;
a format-1 file still opens; anything else (a hostile report figure included) is refused with a ValueError
that says why."""

import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from cnnviz.core.files import session_file
from cnnviz.core.files.caption import Caption
from cnnviz.core.files.report import ReportItem
from cnnviz.core.files.session_file import (
    FORMAT,
    IMAGE_NAME,
    JSON_NAME,
    VERSION,
    DatasetSource,
    ModelSource,
    Session,
    figure_name,
    read_session,
    session_path,
    write_session,
)


def sample_session(image: Image.Image | None) -> Session:
    panes = {"occlusion": {"layer": "features.relu2", "window": 9, "fill": "black", "opacity": 70},
             "dream": {"cycle": [["features.conv1", 0.1]], "step_size": 0.05, "clamp": False},
             "invariance": {"curves": [{"prob": [0.5, None]}]}}
    return Session(model=ModelSource("file", "/models/net.pt", arch="resnet18", checksum="0123456789ab"),
                   device="cpu", image=image, image_name="cat.jpg", image_path="/pictures/cat.jpg", target=281,
                   pinned=True, layer="features.conv2", channel=4, tab="occlusion", panes=panes)


def test_a_session_round_trips_with_the_image_pixels(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (31, 47, 3), dtype=np.uint8)
    session = sample_session(Image.fromarray(pixels))
    path = write_session(tmp_path / "study", session)
    assert path == tmp_path / "study.cnnviz" and path.is_file()
    again = read_session(path)
    assert again.as_dict() == session.as_dict()
    assert again.model == ModelSource("file", "/models/net.pt", True, "resnet18", "0123456789ab")
    assert (again.target, again.pinned, again.layer, again.channel) == (281, True, "features.conv2", 4)
    assert again.tab == "occlusion" and again.image_name == "cat.jpg" and again.image_path == "/pictures/cat.jpg"
    assert again.panes["dream"]["cycle"] == [["features.conv1", 0.1]]
    np.testing.assert_array_equal(np.asarray(again.image), pixels)
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == sorted([IMAGE_NAME, JSON_NAME])
        document = json.loads(archive.read(JSON_NAME))
    assert document["format"] == FORMAT and document["format_version"] == VERSION
    assert document["model"] == {"source": "file", "name": "/models/net.pt", "pretrained": True,
                                 "arch": "resnet18", "checksum": "0123456789ab"}


def test_a_session_without_an_image_and_non_finite_numbers(tmp_path):
    session = Session(model=ModelSource("zoo", "alexnet", pretrained=False), panes={"x": {"v": float("nan")}})
    again = read_session(write_session(tmp_path / "s.cnnviz", session))
    assert again.image is None and again.model == ModelSource("zoo", "alexnet", False)
    assert again.panes == {"x": {"v": None}} and again.target == -1 and again.tab == ""


def test_settings_that_are_not_json_are_refused(tmp_path):
    with pytest.raises(ValueError, match="JSON"):
        write_session(tmp_path / "s.cnnviz", Session(panes={"x": {"v": object()}}))
    assert not (tmp_path / "s.cnnviz").exists()


def write_zip(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def document(**changes) -> bytes:
    return json.dumps({"format": FORMAT, "format_version": VERSION, **changes}).encode()


@pytest.mark.parametrize(("members", "reason"), [
    ({"other.txt": b"x"}, "session.json is missing"),
    ({JSON_NAME: b"{not json"}, "not valid JSON"),
    ({JSON_NAME: b"[1, 2]"}, "not a cnnviz session"),
    ({JSON_NAME: json.dumps({"format": "other"}).encode()}, "not a cnnviz session"),
    ({JSON_NAME: document(format_version=VERSION + 1)}, "newer cnnviz"),
    ({JSON_NAME: document(format_version="1")}, "unknown session format version"),
    ({JSON_NAME: document(target="281")}, "'target' should be int"),
    ({JSON_NAME: document(model={"source": "pickle"})}, "unknown model source"),
    ({JSON_NAME: document(panes={"occlusion": [1]})}, "settings of occlusion"),
    ({JSON_NAME: document(image={"file": IMAGE_NAME})}, "image.png is missing"),
    ({JSON_NAME: document(image={"file": IMAGE_NAME}), IMAGE_NAME: b"\x89PNG broken"}, "not a readable PNG"),
])
def test_a_bad_file_is_refused_with_its_reason(tmp_path, members, reason):
    with pytest.raises(ValueError, match=reason):
        read_session(write_zip(tmp_path / "bad.cnnviz", members))


def test_a_file_that_is_not_a_zip_is_refused(tmp_path):
    path = tmp_path / "image.cnnviz"
    path.write_bytes(b"GIF89a not a session")
    with pytest.raises(ValueError, match="not a zip archive"):
        read_session(path)
    with pytest.raises(OSError):
        read_session(tmp_path / "missing.cnnviz")


def test_session_path_adds_the_suffix(tmp_path):
    assert session_path(tmp_path / "a") == tmp_path / "a.cnnviz"
    assert session_path(tmp_path / "a.zip") == tmp_path / "a.zip"


def png_bytes(colour: tuple[int, int, int], size: tuple[int, int] = (40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def report_items() -> tuple[ReportItem, ...]:
    """Two figures, the second with an edited caption text."""
    occlusion = Caption("occlusion", "bundled", "bundled", "0123456789ab", "cat.jpg",
                        {"layer": "features.relu2", "window": 9, "stride": 3.5, "target": "cat (3)"})
    scan = Caption("dataset", "bundled", "bundled", "0123456789ab", dataset="Fashion-MNIST test",
                   fields={"units": [0, 4, 7]}, partial=True)
    return (ReportItem.of("Occlusion", png_bytes((200, 10, 10)), occlusion),
            ReportItem("Dataset", png_bytes((10, 10, 200), (64, 48)), scan, "Units 0, 4 and 7\nof the first conv."))


def test_the_dataset_display_values_and_report_round_trip(tmp_path):
    session = Session(panes={"deconvnet": {"layer": "features.conv2", "channel": 3, "row": 4, "col": 5},
                             "dataset": {"layers": ["features.conv1", "features.conv2"], "sort": "max"}},
                      display={"deconvnet": {"top9": False}},
                      dataset=DatasetSource("folder", str(tmp_path / "pictures")), report=report_items())
    path = write_session(tmp_path / "full.cnnviz", session)
    again = read_session(path)
    assert again.as_dict() == session.as_dict()
    assert again.dataset == DatasetSource("folder", str(tmp_path / "pictures"))
    assert again.report == session.report and again.report[1].text == "Units 0, 4 and 7\nof the first conv."
    assert again.pane_values()["deconvnet"] == {"layer": "features.conv2", "channel": 3, "row": 4, "col": 5,
                                                "top9": False}
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["report/01.png", "report/02.png", JSON_NAME]
        assert archive.read("report/02.png") == session.report[1].png
        document = json.loads(archive.read(JSON_NAME))
    assert document["report"][1] == {"title": "Dataset", "file": "report/02.png",
                                     "caption": session.report[1].caption.as_dict(),
                                     "text": "Units 0, 4 and 7\nof the first conv."}
    assert document["dataset"] == {"kind": "folder", "path": str(tmp_path / "pictures")}
    assert document["display"] == {"deconvnet": {"top9": False}}


def test_fashion_mnist_and_an_empty_report_round_trip(tmp_path):
    again = read_session(write_session(tmp_path / "s", Session(dataset=DatasetSource("fashion-mnist"), report=())))
    assert again.dataset == DatasetSource("fashion-mnist", "") and again.report == ()


def test_a_caption_round_trips_through_json():
    caption = Caption("deconv", "alexnet", "pretrained", "abc", "cat.jpg",
                      {"position": (3, 4), "value": np.float32(0.5), "channel": np.int64(7), "name": "conv"})
    again = Caption.from_dict(json.loads(json.dumps(caption.as_dict())))
    assert again.fields == {"position": [3, 4], "value": 0.5, "channel": 7, "name": "conv"}
    assert (again.analysis, again.model, again.weights, again.checksum, again.image, again.version) == (
        "deconv", "alexnet", "pretrained", "abc", "cat.jpg", caption.version)
    assert again.text() == caption.text()
    for bad, reason in (([1], "JSON object"), ({"analysis": 3}, "analysis should be text"),
                        ({"analysis": "x", "fields": [1]}, "'fields' should be"), ({}, "analysis should be text")):
        with pytest.raises(ValueError, match=reason):
            Caption.from_dict(bad)


def test_a_format_1_session_still_opens(tmp_path):
    """Before format 2 every pane value was in ``panes``, and no dataset or report was saved."""
    old = {"format": FORMAT, "format_version": 1, "cnnviz": "0.9", "tab": "dream", "layer": "features.conv1",
           "panes": {"occlusion": {"window": 9, "opacity": 70}}}
    again = read_session(write_zip(tmp_path / "old.cnnviz", {JSON_NAME: json.dumps(old).encode()}))
    assert again.pane_values() == {"occlusion": {"window": 9, "opacity": 70}} and again.display == {}
    assert again.dataset is None and again.report is None and again.tab == "dream"


def figure_document(*entries) -> bytes:
    return document(report=list(entries))


def figure_entry(name: str = "report/01.png", **changes) -> dict:
    return {"title": "t", "file": name, "caption": {"analysis": "occlusion"}, "text": "x"} | changes


@pytest.mark.parametrize(("members", "reason"), [
    ({JSON_NAME: document(report={"a": 1})}, "'report' should be a list"),
    ({JSON_NAME: figure_document(figure_entry())}, "report/01.png is missing"),
    ({JSON_NAME: figure_document(figure_entry()), "report/01.png": b"GIF89a not a png"}, "not a readable PNG"),
    ({JSON_NAME: figure_document(figure_entry()), "report/01.png": b"\x89PNG\r\n\x1a\n broken"},
     "report/01.png is not a readable PNG"),
    ({JSON_NAME: figure_document(figure_entry(caption=[1])), "report/01.png": png_bytes((0, 0, 0))},
     "report figure 1: a caption should be"),
    ({JSON_NAME: figure_document(figure_entry(file=None))}, "'file' should be str"),
    ({JSON_NAME: figure_document(figure_entry(file=""))}, "report figure 1 names no file"),
    ({JSON_NAME: figure_document("not an object")}, "report figure 1 is not a JSON object"),
    ({JSON_NAME: document(dataset={"kind": "imagenet"})}, "unknown dataset kind"),
    ({JSON_NAME: document(dataset="/data")}, "'dataset' should be a JSON object"),
    ({JSON_NAME: document(display={"dream": 3})}, "display values of dream"),
])
def test_a_bad_report_or_dataset_is_refused_with_its_reason(tmp_path, members, reason):
    with pytest.raises(ValueError, match=reason):
        read_session(write_zip(tmp_path / "bad.cnnviz", members))


def test_a_report_figure_that_is_too_large_is_refused(tmp_path, monkeypatch):
    png = png_bytes((1, 2, 3), (300, 200))
    path = write_zip(tmp_path / "big.cnnviz", {JSON_NAME: figure_document(figure_entry(), figure_entry()),
                                               "report/01.png": png})
    monkeypatch.setattr(session_file, "MAX_FIGURE_BYTES", len(png) - 1)
    with pytest.raises(ValueError, match=r"report/01.png is too large \(\d+ bytes\)"):
        read_session(path)
    monkeypatch.setattr(session_file, "MAX_FIGURE_BYTES", len(png))
    monkeypatch.setattr(session_file, "MAX_REPORT_BYTES", 2 * len(png) - 1)  # the same member twice
    with pytest.raises(ValueError, match="the report's figures are too large"):
        read_session(path)
    monkeypatch.setattr(session_file, "MAX_REPORT_BYTES", 2 * len(png))
    monkeypatch.setattr(session_file, "MAX_IMAGE_PIXELS", 300 * 200 - 1)
    with pytest.raises(ValueError, match=r"report/01.png is too large \(300×200\)"):
        read_session(path)
    monkeypatch.setattr(session_file, "MAX_IMAGE_PIXELS", 300 * 200)
    assert [item.png for item in read_session(path).report] == [png, png]


def test_figures_are_named_in_order():
    assert [figure_name(n) for n in (1, 9, 10, 100)] == ["report/01.png", "report/09.png", "report/10.png",
                                                         "report/100.png"]
