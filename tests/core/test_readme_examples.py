"""Every Python code block of the README runs as written, in a folder holding the files it names
(``boot.png``, a ``photos/`` folder with one subfolder per class, four images in each)."""

import re
import shlex
import shutil
from pathlib import Path

import pytest

from cnnviz import cli, train_cli
from cnnviz.core.data import datasets, images

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
SHELL_BLOCKS = re.findall(r"```shell\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
COMMANDS = [line for block in SHELL_BLOCKS if "cnnviz run " not in block
            for line in block.splitlines() if line.startswith(("cnnviz train ", "cnnviz probe "))]
VIEW_BLOCKS = [block.strip().splitlines() for block in SHELL_BLOCKS if "cnnviz run " in block]
"""Shell blocks that train and then look at the runs: their lines run in order in one folder."""
PHOTOS = {"bag": "fmnist_bag", "dress": "fmnist_dress", "sneaker": "fmnist_sneaker", "trouser": "fmnist_trouser"}


@pytest.fixture
def example_folder(tmp_path, monkeypatch):
    """A working folder with ``boot.png`` and ``photos/<class>/<image>.png`` (bundled samples)."""
    shutil.copy(images.sample("fmnist_ankle_boot").path, tmp_path / "boot.png")
    for label, sample in PHOTOS.items():
        (tmp_path / "photos" / label).mkdir(parents=True)
        for copy in range(4):
            shutil.copy(images.sample(sample).path, tmp_path / "photos" / label / f"{sample}-{copy}.png")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_readme_has_python_examples():
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("number", range(len(BLOCKS)))
def test_readme_block_runs(number, example_folder, capsys):
    code = BLOCKS[number]
    if "fashion_mnist(" in code and not datasets.fashion_mnist_available():
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    exec(compile(code, f"README.md python block {number + 1}", "exec"), {"__name__": "readme_example"})
    assert capsys.readouterr().out.strip(), "every example prints what it computed"


def test_the_readme_has_training_commands():
    assert len(COMMANDS) >= 3


@pytest.mark.parametrize("number", range(len(COMMANDS)))
def test_readme_training_command_runs(number, example_folder, capsys):
    words = shlex.split(COMMANDS[number])
    if "--fashion-mnist" in words and not datasets.fashion_mnist_available():
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    status = train_cli.main(words[1], [*words[2:], "--workers", "0"])
    printed = capsys.readouterr()
    assert status == 0, printed.err
    out = example_folder / words[words.index("--out") + 1]
    assert out.is_file() if words[1] == "probe" else (out / "results.csv").is_file()
    assert "top-1" in printed.out


def test_the_readme_has_a_block_that_looks_at_runs():
    assert VIEW_BLOCKS and {"curves", "confusion", "evolution", "probe"} <= {
        line.split()[2] for line in VIEW_BLOCKS[0] if line.startswith("cnnviz run ")}


@pytest.mark.parametrize("number", range(len(VIEW_BLOCKS)))
def test_readme_run_views_block_runs_in_order(number, example_folder, capsys):
    for line in VIEW_BLOCKS[number]:
        words = shlex.split(line)
        if words[1] == "train":
            status = train_cli.main("train", [*words[2:], "--workers", "0"])
        else:
            status = cli.main(words[1:])
        printed = capsys.readouterr()
        assert status == 0, f"{line}: {printed.err}"
    views = sorted(path.name for path in (example_folder / "views").iterdir())
    assert {"curves-a-and-1-more.png", "curves-a-and-1-more-runs.csv", "confusion-a-confusion.npy",
            "evolution-a.png", "probe-photos-scores.csv"} <= set(views)
