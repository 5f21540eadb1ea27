"""Figure captions: the model checksum and the caption's text, comments and dict."""

import torch

from cnnviz.core.files import caption
from cnnviz.core.model import models


def test_checksum_depends_on_weights_only():
    a, b = torch.nn.Conv2d(3, 4, 3), torch.nn.Conv2d(3, 4, 3)
    b.load_state_dict(a.state_dict())
    assert caption.model_checksum(a) == caption.model_checksum(b)
    assert len(caption.model_checksum(a)) == caption.CHECKSUM_DIGITS
    with torch.no_grad():
        b.weight[0, 0, 0, 0] += 1e-3
    assert caption.model_checksum(a) != caption.model_checksum(b)


def test_caption_fields_in_text_comments_and_dict():
    model = models.load_default()
    cap = caption.for_model("occlusion", model, "coat.png", {"window": 8, "fill": "mean", "sigma": 0.123456789},
                            partial=True)
    text = cap.text()
    assert model.name in text and "coat.png" in text and "window=8" in text and "sigma=0.123457" in text
    assert "PARTIAL" in text and cap.checksum in text and "cnnviz" in text
    comments = cap.comment_lines()
    assert "# window: 8" in comments and "# partial: yes" in comments
    assert cap.as_dict()["fields"]["window"] == 8 and cap.as_dict()["checksum"] == caption.cached_checksum(model)
    assert caption.with_comments("a,b\n1,2\n", cap).endswith("\na,b\n1,2\n")


def test_a_caption_about_a_dataset_names_it_instead_of_an_image():
    model = models.load_default()
    cap = caption.for_model("dataset", model, "", {"layer": "features.conv1"}, dataset="Fashion-MNIST test")
    first = cap.lines()[0]
    assert first.endswith(" · dataset Fashion-MNIST test") and "image" not in first
    assert ("dataset", "Fashion-MNIST test") in cap.items() and "image" not in dict(cap.items())
    assert cap.as_dict()["dataset"] == "Fashion-MNIST test" and cap.as_dict()["image"] == ""
    assert "# dataset: Fashion-MNIST test" in cap.comment_lines()
    on_image = caption.for_model("occlusion", model, "coat.png", {})
    assert "dataset" not in dict(on_image.items()) and on_image.lines()[0].endswith(" · image coat.png")
