"""The Training pane on a real ImageNet CNN (SqueezeNet from ../shared) and a folder of photos: a probe run, its
confusion matrix equal to training.evaluate, and its checkpoint used as every pane's model."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from cnnviz.core import datasets, models, training
from cnnviz.core.data import images
from cnnviz.gui.runtime.model_spec import ModelSpec

SQUEEZENET = Path(__file__).resolve().parents[4] / "shared" / "models" / "squeezenet1_0_imagenet" / "model.py"


def photo_folder(root: Path) -> Path:
    """Two classes of four photos each (the bundled cat and coffee photos, flipped and cropped)."""
    for label, sample in (("cat", "chelsea"), ("coffee", "coffee")):
        folder = root / label
        folder.mkdir(parents=True)
        picture = Image.open(images.sample(sample).path).convert("RGB")
        width, height = picture.size
        crops = [picture, ImageOps.mirror(picture), picture.crop((0, 0, width * 3 // 4, height * 3 // 4)),
                 picture.crop((width // 4, height // 4, width, height))]
        for number, crop in enumerate(crops):
            crop.save(folder / f"{sample}-{number}.jpg")
    return root


def test_a_squeezenet_probe_on_photos(window, settle, show_pane, qtbot, tmp_path):
    if not SQUEEZENET.is_file():
        pytest.skip(f"{SQUEEZENET} not available (../shared is only beside developer and CI checkouts)")
    window.controller.load_model(ModelSpec("file", str(SQUEEZENET), trust=True))
    window.controller.open_sample(images.sample("chelsea"))
    settle(window)
    pane = show_pane(window, "training")
    pane.runs.set_root(tmp_path / "runs")
    window.state.set_dataset(datasets.open_folder(photo_folder(tmp_path / "photos")))
    assert pane.split_form.set_values({"train_share": 0.5, "val_share": 0.25, "test_share": 0.25}) == {}
    pane.main_form.set_values({"mode": "probe", "epochs": 2, "batch_size": 2})
    pane.more_form.set_values({"workers": 0})
    assert [int(pane.split_table.item(2, c).text()) for c in (1, 2, 3)] == [4, 2, 2]
    pane.run_button.click()
    qtbot.waitUntil(lambda: not pane.running and pane.outcome == "done", timeout=300_000)
    record = pane.run_list.selected()
    assert record.epochs == (1, 2) and record.config["mode"] == "probe"
    confusion = pane.views.show_view("confusion")
    confusion.compute_button.click()
    qtbot.waitUntil(lambda: confusion.result is not None, timeout=120_000)
    test = training.read_splits(record.folder)["test"]
    reference = training.evaluate(models.load(str(record.checkpoint())), test, workers=0)
    assert np.array_equal(confusion.result.counts(), reference.confusion) and reference.count == 2
    pane.run_list.use_button.click()
    qtbot.waitUntil(lambda: "probed on photos" in window.state.model.name, timeout=120_000)
    settle(window)
    assert window.state.model.categories == ["cat", "coffee"] and len(window.state.predictions.top) == 2
