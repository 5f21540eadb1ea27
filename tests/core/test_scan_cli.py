"""``cnnviz scan`` and ``cnnviz scan-merge``: shards merged equal one scan, bad options exit 2, Ctrl-C and
errors keep a partial index that --resume finishes, and the commands run without Qt."""

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnviz import cli, scan_cli
from cnnviz.core.data import datasets, fashion_mnist
from cnnviz.core.model import models
from cnnviz.core.per_dataset import scan

COUNT = 60
CLASSES = 3
QT_ROOTS = ("PySide6", "shiboken6", "pyqtgraph")


def write_images(root: Path) -> None:
    """``COUNT`` PNGs in one subfolder per class: Fashion-MNIST test images when installed, else noise."""
    if fashion_mnist.available():
        pixels, labels = fashion_mnist.load_split("test")
        pixels, labels = pixels[:COUNT], labels[:COUNT] % CLASSES
    else:
        generator = np.random.default_rng(0)
        pixels = generator.integers(0, 256, size=(COUNT, 28, 28), dtype=np.uint8)
        labels = np.arange(COUNT) % CLASSES
    for i, (image, label) in enumerate(zip(pixels, labels)):
        folder = root / f"class_{int(label)}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"image_{i:03d}.png")


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("scan_cli") / "images"
    write_images(root)
    return root


@pytest.fixture(scope="module")
def dataset(folder) -> datasets.ImageDataset:
    return datasets.open_folder(folder)


@pytest.fixture(scope="module")
def whole(folder, bundled, dataset, tmp_path_factory) -> scan.ScanIndex:
    """One ``cnnviz scan`` of the whole folder."""
    out = tmp_path_factory.mktemp("whole") / "whole.npz"
    assert cli.main(["scan", "--data", str(folder), "--out", str(out), "--workers", "0", "--batch-size", "16"]) == 0
    return scan.load(out, bundled, dataset)


def scan_args(folder: Path, out: Path, *extra: str) -> list[str]:
    return ["scan", "--data", str(folder), "--out", str(out), "--workers", "0", "--batch-size", "16", *extra]


def assert_same_index(ours: scan.ScanIndex, reference: scan.ScanIndex) -> None:
    """Every top list (images and positions equal, activations to 1e-5) and every statistic agree."""
    assert (ours.layers, ours.k, ours.scanned, ours.total) == (reference.layers, reference.k, reference.scanned,
                                                               reference.total)
    assert not ours.partial and ours.skipped == reference.skipped
    assert np.array_equal(ours.seen, reference.seen)
    for layer in reference.layers:
        for channel in range(reference.channels(layer)):
            got, want = ours.top(layer, channel=channel), reference.top(layer, channel=channel)
            assert [(hit.image, hit.position) for hit in got] == [(hit.image, hit.position) for hit in want]
            np.testing.assert_allclose([hit.activation for hit in got], [hit.activation for hit in want], atol=1e-5)
        got_stats, want_stats = ours.stats(layer), reference.stats(layer)
        assert got_stats.count == want_stats.count == reference.scanned
        np.testing.assert_array_equal(got_stats.fire_rate, want_stats.fire_rate)
        np.testing.assert_array_equal(got_stats.class_count, want_stats.class_count)
        for name in ("mean_max", "max", "class_mean", "selectivity"):
            np.testing.assert_allclose(getattr(got_stats, name), getattr(want_stats, name), atol=1e-5, err_msg=name)


def test_the_whole_scan_covers_every_image_and_conv_layer(whole, bundled, dataset):
    assert whole.scanned == whole.total == len(dataset) == COUNT and not whole.partial
    assert whole.layers == scan.default_layers(bundled) and whole.k == 9 and whole.shard is None
    assert whole.classes == [f"class_{i}" for i in range(CLASSES)]


def test_two_shards_merged_equal_one_scan(folder, whole, bundled, dataset, tmp_path, capsys):
    for part in (1, 2):
        assert cli.main(scan_args(folder, tmp_path / f"part{part}.npz", "--shard", f"{part}/2")) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("shard 1/2: 30 images scanned, 0 skipped,")
    assert f"{len(whole.layers)} layers, k=9" in lines[0] and lines[0].endswith(str(tmp_path / "part1.npz"))
    first = scan.load(tmp_path / "part1.npz", bundled, dataset)
    assert first.shard == (1, 2) and {hit.image % 2 for hit in first.top(whole.layers[0], channel=0)} == {0}
    out = tmp_path / "index.npz"
    parts = [str(tmp_path / "part2.npz"), str(tmp_path / "part1.npz")]
    assert cli.main(["scan-merge", *parts, "--out", str(out), "--data", str(folder), "--model", "default"]) == 0
    assert "merged 2 parts; 60 images scanned, 0 skipped" in capsys.readouterr().out
    assert_same_index(scan.load(out, bundled, dataset), whole)


def test_layers_and_k_options(folder, whole, bundled, dataset, tmp_path):
    layers = whole.layers[-2:]
    out = tmp_path / "two.npz"
    assert cli.main(scan_args(folder, out, "--layers", ",".join(layers), "--k", "4")) == 0
    index = scan.load(out, bundled, dataset)
    assert index.layers == layers and index.k == 4
    for channel in range(index.channels(layers[0])):
        assert index.top(layers[0], channel=channel) == whole.top(layers[0], channel=channel)[:4]


@pytest.mark.parametrize("extra, message", [
    (["--shard", "5/4"], "5/4: I must be between 1 and N"),
    (["--shard", "0/4"], "I must be between 1 and N"),
    (["--shard", "half"], "expected I/N such as 1/4"),
    (["--k", "0"], "0 is not between 1 and"),
    (["--batch-size", "x"], "expected an integer"),
    (["--layers", "features.nothing"], "features.nothing: no such layer"),
    (["--model", "no_such_model"], "neither 'default'"),
    (["--resume", "/no/such/part.npz"], "no such index file to resume"),
])
def test_bad_scan_options_exit_2_with_a_message(extra, message, folder, tmp_path, capsys):
    assert cli.main(scan_args(folder, tmp_path / "out.npz", *extra)) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "usage:" not in err  # one line naming the problem, no usage block
    assert not (tmp_path / "out.npz").exists()


def test_a_missing_folder_or_data_option_exits_2(tmp_path, capsys):
    assert cli.main(["scan", "--data", str(tmp_path / "nothing"), "--out", str(tmp_path / "o.npz")]) == 2
    assert f"{tmp_path / 'nothing'}: no such folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert cli.main(["scan", "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "o.npz")]) == 2
    assert "cnnviz: " in capsys.readouterr().err
    assert cli.main(["scan", "--out", str(tmp_path / "o.npz")]) == 2
    assert "one of the arguments --data --fashion-mnist is required" in capsys.readouterr().err
    assert cli.main(["scan", "--data", str(tmp_path), "--out", str(tmp_path / "no" / "o.npz")]) == 2
    assert "the folder to save it in does not exist" in capsys.readouterr().err


def test_mismatched_parts_exit_2(folder, bundled, dataset, tmp_path, capsys):
    for part in (1, 3):
        assert cli.main(scan_args(folder, tmp_path / f"p{part}.npz", "--shard", f"{part}/3")) == 0
    assert cli.main(scan_args(folder, tmp_path / "k4.npz", "--shard", "2/3", "--k", "4")) == 0
    capsys.readouterr()
    merge = ["scan-merge", "--out", str(tmp_path / "m.npz")]
    assert cli.main(merge + [str(tmp_path / "p1.npz"), str(tmp_path / "p3.npz")]) == 2
    assert "shard 2/3 missing" in capsys.readouterr().err
    assert cli.main(merge + [str(tmp_path / "p1.npz"), str(tmp_path / "p1.npz"), str(tmp_path / "p3.npz")]) == 2
    assert "shard 2/3 missing; shard 1/3 given twice" in capsys.readouterr().err
    assert cli.main(merge + [str(tmp_path / f"{name}.npz") for name in ("p1", "k4", "p3")]) == 2
    assert "the parts do not fit together" in capsys.readouterr().err
    assert cli.main(merge + [str(tmp_path / "p1.npz"), "--data", str(folder)]) == 2
    assert "give both the data" in capsys.readouterr().err
    other = tmp_path / "other"
    write_images(other / "more")
    assert cli.main(merge + [str(tmp_path / "p1.npz"), "--data", str(other), "--model", "default"]) == 2
    assert str(tmp_path / "p1.npz") in capsys.readouterr().err
    assert not (tmp_path / "m.npz").exists()


def stopping_steps(after: int, error: BaseException):
    """A stand-in for scan.build_steps that yields the real first ``after`` steps, then raises ``error``."""
    real = scan.build_steps

    def steps(*args, **kwargs):
        inner = real(*args, **kwargs)
        try:
            for _ in range(after):
                yield next(inner)
            raise error
        finally:
            inner.close()

    return steps


def test_ctrl_c_saves_a_partial_index_that_resume_finishes(folder, whole, bundled, dataset, tmp_path, capsys,
                                                           monkeypatch):
    out = tmp_path / "part.npz"
    with monkeypatch.context() as patch:
        patch.setattr(scan, "build_steps", stopping_steps(2, KeyboardInterrupt()))
        assert cli.main(scan_args(folder, out)) == scan_cli.INTERRUPTED
    err = capsys.readouterr().err
    assert f"interrupted; saved the partial index (32 of 60 images) to {out}; continue with --resume {out}" in err
    partial = scan.load(out, bundled, dataset)
    assert partial.partial and partial.scanned == 32
    assert cli.main(scan_args(folder, out, "--layers", whole.layers[0]) + ["--resume", str(out)]) == 2
    assert "--layers differs from the index to resume" in capsys.readouterr().err
    assert cli.main(scan_args(folder, out, "--resume", str(out))) == 0
    assert "60 images scanned, 0 skipped" in capsys.readouterr().out
    assert_same_index(scan.load(out, bundled, dataset), whole)


def test_an_error_mid_scan_saves_the_partial_index_and_exits_1(folder, bundled, dataset, tmp_path, capsys,
                                                               monkeypatch):
    out = tmp_path / "part.npz"
    monkeypatch.setattr(scan, "build_steps", stopping_steps(1, RuntimeError("out of memory")))
    assert cli.main(scan_args(folder, out)) == 1
    err = capsys.readouterr().err
    assert "the scan failed: RuntimeError: out of memory; saved the partial index (16 of 60 images)" in err
    assert scan.load(out, bundled, dataset).scanned == 16


def test_scan_help_lists_the_options(capsys):
    assert cli.main(["scan", "--help"]) == 0
    text = capsys.readouterr().out
    for option in ("--model", "--data", "--fashion-mnist", "--out", "--shard", "--layers", "--k", "--batch-size",
                   "--workers", "--resume", "--untrained", "SLURM"):
        assert option in text, option
    assert cli.main(["scan-merge", "--help"]) == 0
    assert "PART.npz" in capsys.readouterr().out


NO_QT = f"""
import atexit, sys

class NoQt:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {QT_ROOTS!r}:
            raise ImportError('no Qt on this machine: ' + name)

sys.meta_path.insert(0, NoQt())
atexit.register(lambda: print('qt modules:', sorted(m for m in sys.modules if m.split('.')[0] in {QT_ROOTS!r})))
"""


def test_python_m_cnnviz_scan_runs_where_qt_cannot_be_imported(folder, whole, bundled, dataset, tmp_path):
    """A ``sitecustomize`` makes every Qt import fail (in the command and in its DataLoader worker, forked or
    spawned); at exit the command lists the Qt modules it holds: none."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(NO_QT, encoding="utf-8")
    root = Path(cli.__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path / "site"), str(root)]))
    out = tmp_path / "noqt.npz"
    result = subprocess.run([sys.executable, "-m", "cnnviz", "scan", "--data", str(folder), "--out", str(out),
                             "--workers", "1", "--shard", "1/1"],
                            capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("shard 1/1: 60 images scanned")
    assert result.stdout.splitlines()[-1] == "qt modules: []"
    index = scan.load(out, bundled, dataset)
    assert index.top(whole.layers[0], channel=0) == whole.top(whole.layers[0], channel=0)


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_is_rewritten_at_most_twice_a_second():
    stream = FakeTerminal()
    line = scan_cli.ProgressLine(stream)
    for done in range(0, 1001, 10):
        line.update(done, 1000, 250.0)
    line.close()
    shown = stream.getvalue().split("\r")[1:]
    assert len(shown) == 2
    assert shown[0].startswith("scan: 0/1000 images (0 %), 250 images/s, 4 s left")
    assert shown[1].rstrip() == "scan: 1000/1000 images (100 %), 250 images/s, 0 s left"
    assert stream.getvalue().endswith("\n")


def test_format_duration_and_skipped_lines():
    assert [scan_cli.format_duration(s) for s in (4.4, 185, 3723, float("nan"))] == ["4 s", "3:05", "1:02:03", "?"]
    lines = scan_cli.skipped_lines([(f"f{i}.jpg", "empty file") for i in range(25)], limit=20)
    assert lines[0] == "f0.jpg: empty file" and lines[-1] == "... and 5 more" and len(lines) == 21


def test_models_load_passes_the_architecture_of_a_state_dict(tmp_path):
    import torch
    import torchvision

    path = tmp_path / "weights.pth"
    torch.save(torchvision.models.squeezenet1_1().state_dict(), path)
    assert models.load(str(path), arch="squeezenet1_1").arch == "squeezenet1_1"
    with pytest.raises(models.ModelLoadError):
        models.load(str(path), arch="alexnet")


def test_fashion_mnist_when_not_installed_exits_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(datasets, "fashion_mnist_available", lambda *args, **kwargs: False)
    assert cli.main(["scan", "--fashion-mnist", "test", "--out", str(tmp_path / "f.npz")]) == 2
    assert "Fashion-MNIST is not installed" in capsys.readouterr().err
