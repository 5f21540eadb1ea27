"""The repository's promises: CI runs the README's test command, the desktop entry is valid."""

import tomllib
from configparser import ConfigParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEST_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert TEST_COMMAND in readme
    assert ci.rstrip().splitlines()[-1] == TEST_COMMAND


def test_readme_launch_command_uses_the_entry_point():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/cnnviz" in readme
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'cnnviz = "cnnviz.cli:main"' in pyproject


def test_desktop_entry_and_icons():
    entry = ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(ROOT / "packaging" / "cnnviz.desktop", encoding="utf-8")
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application" and desktop["Exec"].startswith("cnnviz")
    from PIL import Image

    for icon in (ROOT / "packaging" / "cnnviz.png", ROOT / "resources" / "icons" / "cnnviz.png"):
        assert Image.open(icon).size == (256, 256)


def test_every_package_is_listed_for_installation():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    found = {".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "cnnviz").rglob("__init__.py")}
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"
