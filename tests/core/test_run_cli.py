"""``cnnviz run``: outputs and sidecar of an analysis, equality with the core, reproducibility, folders,
datasets, bad arguments (exit 2, no traceback), failures (exit 1), the help texts, and no Qt imported."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest
from PIL import Image

from cnnviz import cli, run_cli
from cnnviz.analyses import registry
from cnnviz.core.data import images
from cnnviz.core.model import models
from cnnviz.core.per_image import invariance, occlusion

SAMPLE = "fmnist_bag"
SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "samples"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = cli.main(["run", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def sidecar(out: Path, stem: str) -> dict:
    return json.loads((out / f"{stem}.json").read_text(encoding="utf-8"))


def arrays(out: Path) -> dict[str, np.ndarray]:
    return {path.name: np.load(path) for path in sorted(out.glob("*.npy"))}


def test_occlusion_writes_the_figure_data_and_sidecar_equal_to_the_core(capsys, tmp_path):
    out = tmp_path / "out"
    status, _out, err = run(capsys, "occlusion", "--model", "default", "--image", SAMPLE, "--target", "3",
                            "--layer", "features.relu2", "--set", "window=6", "--set", "stride=4",
                            "--set", "fill=noise", "--set", "seed=7", "--out", str(out), "--format", "png,npy")
    assert status == 0, err
    stem = f"occlusion-{SAMPLE}"
    with Image.open(out / f"{stem}.png") as png:
        assert png.format == "PNG" and min(png.size) > 100
    meta = sidecar(out, stem)
    assert meta["analysis"] == "occlusion" and meta["target"] == 3
    assert meta["caption"]["image"] == f"{SAMPLE}.png" and len(meta["caption"]["checksum"]) == 12
    assert meta["caption"]["partial"] is False
    assert set(meta["versions"]) == {"cnnviz", "torch", "torchvision", "python"}
    assert sorted(meta["files"]) == sorted(p.name for p in out.iterdir() if p.suffix != ".json")
    settings = meta["settings"]
    assert (settings["layer"], settings["window"], settings["stride"], settings["fill"], settings["seed"]) == (
        "features.relu2", 6, 4, "noise", 7)
    assert meta["arguments"]["set"] == {"layer": "features.relu2", "window": "6", "stride": "4", "fill": "noise",
                                        "seed": "7"}
    model = models.load_default()
    x = model.preprocess(images.load_image(images.sample(SAMPLE).path))
    expected = occlusion.occlude(model, x, target=3, window=6, stride=4, fill="noise", layer="features.relu2", seed=7)
    assert expected.prob.shape == (6, 6)
    np.testing.assert_allclose(np.load(out / f"{stem}-prob.npy"), expected.prob, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(np.load(out / f"{stem}-top_class.npy"), expected.top_class)
    np.testing.assert_allclose(np.load(out / f"{stem}-feature.npy"), expected.feature, rtol=1e-5, atol=1e-5)


def test_invariance_writes_each_curve_as_npy_and_csv_equal_to_the_core(capsys, tmp_path):
    out = tmp_path / "out"
    status, _out, err = run(capsys, "invariance", "--image", SAMPLE, "--out", str(out), "--format", "npy,csv",
                            *["--set", "kind=scale", "--set", "start=0.5", "--set", "stop=1.5", "--set", "step=0.5"])
    assert status == 0, err
    stem = f"invariance-{SAMPLE}"
    model = models.load_default()
    x = model.preprocess(images.load_image(images.sample(SAMPLE).path))
    expected = invariance.curves(model, x, kind="scale", values=np.array([0.5, 1.0, 1.5]))
    assert list(expected.distance) and not list(out.glob("*.png"))
    written = arrays(out)
    assert set(written) == {f"{stem}-image1-{name}.npy" for name in expected.arrays()}
    for name, array in expected.arrays().items():
        np.testing.assert_allclose(written[f"{stem}-image1-{name}.npy"], array, rtol=1e-5, atol=1e-6)
    table = (out / f"{stem}-image1-probability.csv").read_text(encoding="utf-8").splitlines()
    assert "# analysis: invariance" in table and "index,image1-probability" in table
    rows = [line.split(",") for line in table if line[:1].isdigit()]
    np.testing.assert_allclose([float(row[1]) for row in rows], expected.prob, rtol=1e-5)
    assert (out / f"{stem}-curves.csv").is_file()


def test_occlusion_writes_svg_pdf_and_csv_with_the_caption(capsys, tmp_path):
    out = tmp_path / "out"
    status, _out, err = run(capsys, "occlusion", "--image", SAMPLE, "--out", str(out),
                            "--format", "png,svg,pdf,npy,csv")
    assert status == 0, err
    stem = f"occlusion-{SAMPLE}"
    meta = sidecar(out, stem)
    svg = (out / f"{stem}.svg").read_text(encoding="utf-8")
    assert ElementTree.fromstring(svg).tag.endswith("svg") and meta["caption"]["checksum"] in svg
    assert (out / f"{stem}.pdf").read_bytes().startswith(b"%PDF")
    csv = (out / f"{stem}-prob.csv").read_text(encoding="utf-8")
    assert f"# checksum: {meta['caption']['checksum']}" in csv and "# partial: no" in csv
    assert {f"{stem}.svg", f"{stem}.pdf", f"{stem}-prob.csv", f"{stem}-prob.npy"} <= set(meta["files"])


def test_identical_arguments_give_identical_arrays(capsys, tmp_path):
    """Attribution includes noisy methods (SmoothGrad): their seeds make two runs agree."""
    results = []
    for name in ("first", "second"):
        status, _out, err = run(capsys, "attribution", "--image", SAMPLE, "--out", str(tmp_path / name))
        assert status == 0, err
        results.append(arrays(tmp_path / name))
    assert len(results[0]) >= 2 and results[0].keys() == results[1].keys()
    for key, array in results[0].items():
        np.testing.assert_array_equal(array, results[1][key], err_msg=key)
    first, second = (sidecar(tmp_path / n, f"attribution-{SAMPLE}") for n in ("first", "second"))
    assert first["settings"] == second["settings"] and first["caption"] == second["caption"]


def test_a_folder_gives_one_output_set_per_image_with_progress(capsys, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("fmnist_bag", "fmnist_dress"):
        shutil.copy(images.sample(name).path, folder / f"{name}.png")
    (folder / "notes.txt").write_text("not an image", encoding="utf-8")
    out = tmp_path / "out"
    status, stdout, err = run(capsys, "activations", "--image", str(folder), "--out", str(out))
    assert status == 0, err
    lines = [line for line in err.splitlines() if line.startswith("[")]
    assert [line.split(" …")[0] for line in lines] == ["[1/2] fmnist_bag.png", "[2/2] fmnist_dress.png"]
    assert all(line.endswith(" s") for line in lines)
    for suffix in ("json", "png"):
        assert sorted(p.name for p in out.glob(f"*.{suffix}")) == [f"activations-fmnist_bag.{suffix}",
                                                                  f"activations-fmnist_dress.{suffix}"]
    assert "saved 2 output sets" in stdout
    bag, dress = (np.load(out / f"activations-{n}-activations.npy") for n in ("fmnist_bag", "fmnist_dress"))
    assert bag.shape == dress.shape and not np.array_equal(bag, dress)


def test_a_bad_image_in_a_folder_fails_that_image_only(capsys, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(images.sample("fmnist_bag").path, folder / "a.png")
    (folder / "b.png").write_bytes(b"not a png")
    out = tmp_path / "out"
    status, _out, err = run(capsys, "filters", "--image", str(folder), "--out", str(out))
    assert status == 1
    assert "[2/2] b.png failed:" in err and "[1/2] a.png … " in err
    assert "Traceback" not in err
    assert (out / "filters-a.json").is_file() and not (out / "filters-b.json").exists()


@pytest.mark.parametrize("argv, message", [
    (["occlusio"], "unknown analysis 'occlusio'"),
    ([], "name an analysis"),
    (["occlusion", "--model", "no_such_model"], "neither 'default'"),
    (["occlusion", "--image", "/no/such/image.png"], "no such file or folder"),
    (["occlusion", "--format", "png,jpg"], "formats are png, svg, pdf, npy, csv"),
    (["occlusion", "--set", "window"], "expected KEY=VALUE"),
    (["occlusion", "--set", "no_such_setting=1"], "--set no_such_setting: no such parameter; parameters: layer, "
                                                  "target, window, stride, fill"),
    (["occlusion", "--set", "window=big"], "--set window: 'big' is not an integer"),
    (["occlusion", "--set", "window=5000"], "--set window: 5000 is outside 1…4096 px"),
    (["occlusion", "--set", "window=29", "--image", str(SAMPLES)],
     "--set window: the occluder (29 px) is larger than the model's input (28×28 px); give at most 28"),
    (["occlusion", "--set", "fill=purple"], "--set fill: 'purple' is not one of mean, black, blur, noise"),
    (["occlusion", "--layer", "no_such_layer"], "--layer 'no_such_layer' is not a layer of the occlusion analysis; "
                                                "layers: features, features.conv1"),
    (["occlusion", "--target", "10"], "--target 10: the model has 10 classes"),
    (["occlusion", "--target", "-1"], "a class index is 0 or more"),
    (["occlusion", "--bogus"], "unrecognized arguments: --bogus"),
])
def test_bad_arguments_exit_2_with_a_one_line_message(argv, message, capsys, tmp_path):
    out = tmp_path / "out"
    defaults = [] if "--image" in argv else ["--image", SAMPLE]
    status, _out, err = run(capsys, *argv, *defaults, "--out", str(out))
    assert status == 2
    assert message in err and err.startswith("cnnviz: run: ")
    assert len([line for line in err.splitlines() if line.startswith("cnnviz")]) == 1
    assert "failed" not in err  # arguments are checked before any image is analysed
    assert "Traceback" not in err
    assert not out.exists()


def test_missing_image_or_out_exits_2(capsys, tmp_path):
    status, _out, err = run(capsys, "filters", "--out", str(tmp_path))
    assert status == 2 and "--image is required" in err
    status, _out, err = run(capsys, "filters", "--image", SAMPLE)
    assert status == 2 and "--out is required" in err


def test_run_help_lists_every_analysis(capsys):
    status, text, _err = run(capsys, "--help")
    assert status == 0
    for name in registry.names():
        assert name in text and registry.get(name).summary in text
    for option in ("--model", "--untrained", "--image", "--layer", "--target", "--set", "--out", "--format"):
        assert option in text


def test_analysis_help_lists_parameters_with_their_defaults(capsys):
    status, text, err = run(capsys, "occlusion", "--help")
    assert status == 0, err
    assert "parameters (--set KEY=VALUE), with their defaults for the model 'default'" in text
    lines = text.splitlines()
    for entry in ("layer = features.relu3", "window = 8", "stride = 2", "fill = mean", "seed = 0", "opacity = 70",
                  "target = none"):
        assert f"  {entry}" in lines
    assert ("      Window: 1…4096 px; none: a seventh of the input. Side of the square occluder, in input pixels."
            in lines)
    assert any(line.startswith("      Fill: one of: mean, black, blur, noise.") for line in lines)


def test_top9_projects_the_nine_strongest_channels(capsys, tmp_path):
    out = tmp_path / "out"
    status, _out, err = run(capsys, "top9", "--image", SAMPLE, "--layer", "features.conv2", "--out", str(out))
    assert status == 0, err
    meta = sidecar(out, f"top9-{SAMPLE}")
    assert meta["settings"]["layer"] == "features.conv2"
    projections = np.load(out / f"top9-{SAMPLE}-projections.npy")
    assert projections.shape[0] == 9 and projections.shape[-2:] == (28, 28)
    assert len(set(np.load(out / f"top9-{SAMPLE}-channels.npy").tolist())) == 9


def test_an_unexpected_error_exits_1_with_a_traceback_only_when_verbose(capsys, tmp_path, monkeypatch):
    def broken(self, result, stem):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(run_cli.Run, "write", broken)
    argv = ["filters", "--image", SAMPLE, "--out", str(tmp_path / "out")]
    status, _out, err = run(capsys, *argv)
    assert status == 1 and "cnnviz: run failed: RuntimeError: disk on fire" in err
    assert "Traceback" not in err
    status, _out, err = run(capsys, *argv, "--verbose")
    assert status == 1 and "Traceback" in err and "disk on fire" in err


QT_BLOCKER = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph") or name.startswith("cnnviz.gui"):
            raise ImportError(f"{name} is blocked in this test")
sys.meta_path.insert(0, Block())
from cnnviz import cli
sys.exit(cli.main(sys.argv[1:]))
"""


def test_the_command_runs_with_qt_unimportable(tmp_path):
    """``cnnviz run`` imports neither PySide6, shiboken6, pyqtgraph nor the GUI: it works where they cannot be
    imported (a cluster node without Qt libraries), with only its progress line on stderr."""
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "config"), TORCH_HOME=str(tmp_path / "torch"))
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-c", QT_BLOCKER, "run", "deconv", "--image", SAMPLE, "--out", str(out),
                             "--format", "png,pdf,npy"], env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"[1/1] {SAMPLE}.png … "), result.stderr
    assert np.load(out / f"deconv-{SAMPLE}-projection.npy").shape[-2:] == (28, 28)
    assert (out / f"deconv-{SAMPLE}.pdf").read_bytes().startswith(b"%PDF")
    assert not (tmp_path / "config" / "cnnviz").exists()


@pytest.mark.parametrize("analysis, sets, expected", [
    ("dream", ["iterations=2", "octaves=1"], {"iterations": 2, "octaves": 1}),
    ("invariance", ["kind=scale", "start=0.5", "stop=1.5", "step=0.5"], {"kind": "scale", "step": 0.5}),
    ("filters", ["view=norm"], {"view": "norm"}),
])
def test_run_panes_and_views_write_a_figure_with_the_settings_used(analysis, sets, expected, capsys, tmp_path):
    out = tmp_path / "out"
    status, _out, err = run(capsys, analysis, "--image", SAMPLE, "--out", str(out),
                            *[part for text in sets for part in ("--set", text)])
    assert status == 0, err
    meta = sidecar(out, f"{analysis}-{SAMPLE}")
    assert {key: meta["settings"][key] for key in expected} == expected
    assert meta["caption"]["analysis"] == analysis and meta["caption"]["partial"] is False
    with Image.open(out / f"{analysis}-{SAMPLE}.png") as png:
        assert min(png.size) > 100
    if analysis == "dream":
        assert np.load(out / f"dream-{SAMPLE}-run1-objective.npy").shape[0] == 2  # steps: 2 iterations × 1 octave


def test_invariance_layers_are_set_as_comma_separated_names(capsys, tmp_path):
    out = tmp_path / "out"
    status, _out, err = run(capsys, "invariance", "--image", SAMPLE, "--out", str(out),
                            "--set", "layers=features.relu2,classifier.relu4", "--set", "kind=horizontal",
                            "--format", "npy")
    assert status == 0, err
    meta = sidecar(out, f"invariance-{SAMPLE}")
    assert meta["settings"]["layers"] == meta["caption"]["fields"]["layers"] == ["features.relu2", "classifier.relu4"]
    assert {f"distance-{layer}" for layer in ("features.relu2", "classifier.relu4")} <= {
        name.split("-", 3)[-1].removesuffix(".npy") for name in arrays(out)}
    status, _out, err = run(capsys, "invariance", "--image", SAMPLE, "--out", str(out), "--set", "layers=nope")
    assert status == 2 and "'nope' is not a layer" in err and "Traceback" not in err


def test_a_dataset_analysis_runs_on_a_folder(capsys, tmp_path):
    folder = tmp_path / "data"
    for name in ("fmnist_bag", "fmnist_dress", "fmnist_sneaker", "fmnist_trouser"):
        (folder / name.split("_")[1]).mkdir(parents=True)
        shutil.copy(images.sample(name).path, folder / name.split("_")[1] / f"{name}.png")
    out = tmp_path / "out"
    status, stdout, err = run(capsys, "features", "--data", str(folder), "--out", str(out), "--set", "method=pca",
                              "--format", "png,npy")
    assert status == 0, err
    meta = sidecar(out, "features-data")
    assert meta["caption"]["dataset"] == "data" and meta["caption"]["image"] == ""
    assert (out / "features-data.png").is_file() and "saved 1 output set" in stdout


def test_a_dataset_analysis_needs_data(capsys, tmp_path):
    status, _out, err = run(capsys, "scan", "--out", str(tmp_path / "out"))
    assert status == 2 and "--data is required for scan" in err


def test_a_failing_attribution_method_is_reported_and_the_other_maps_are_written(capsys, tmp_path):
    out = tmp_path / "out"
    status, _out, err = run(capsys, "attribution", "--image", SAMPLE, "--out", str(out), "--set",
                            "methods=gradcam,occlusion", "--set", "occlusion_window=100", "--set", "curves=false")
    assert status == 0, err
    message = "the occluder (100 px) is larger than the input (28×28)"
    assert f"cnnviz: {SAMPLE}.png: map 2 (occlusion) failed: {message}" in err.splitlines()
    stem = f"attribution-{SAMPLE}"
    assert {p.name for p in out.glob("*.npy")} == {f"{stem}-1-gradcam-class8.npy", f"{stem}-1-gradcam-class8-raw.npy"}
    assert sidecar(out, stem)["caption"]["fields"]["failed2"] == f"occlusion: {message}"
    status, _out, err = run(capsys, "attribution", "--image", SAMPLE, "--out", str(tmp_path / "none"), "--set",
                            "methods=occlusion", "--set", "occlusion_window=100")
    assert status == 1 and err.strip() == f"cnnviz: run: map 1 (occlusion) failed: {message}"
