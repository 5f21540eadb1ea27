"""Session files: a round trip keeps every field and the image's pixels; anything else is refused with
a ValueError that says why."""

import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from cnnviz.core.session_file import (
    FORMAT,
    IMAGE_NAME,
    JSON_NAME,
    VERSION,
    ModelSource,
    Session,
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
