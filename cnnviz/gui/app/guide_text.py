"""The user guide's text (Help → User guide…): the README, found at run time, split into its sections.

The README is read from the source checkout when there is one (``README.md`` beside the ``cnnviz`` package, next
to the ``pyproject.toml`` that marks a clone or an editable install), else from the installed distribution's
metadata: pyproject.toml's ``readme = "README.md"`` makes the README the package's long description, which
``pip install .`` and wheels carry, so no copy of it ships inside the package. Qt-free.
"""

import importlib.metadata
import re
from dataclasses import dataclass
from pathlib import Path

import cnnviz

DISTRIBUTION = "cnnviz"
"""The distribution whose metadata holds the README when there is no checkout."""
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,3})\s+(.+?)(?:\s+#+)?\s*$")
"""A Markdown ATX heading of level 1 to 3 (deeper ones stay inside their section)."""
NOT_FOUND = ("# cnnviz\n\nThe user guide (the project's README.md) was not found: neither a source checkout nor "
             "the package's metadata has it.")


@dataclass(frozen=True)
class GuideSection:
    """One section of the guide: ``title`` (the heading's text, "" before the first heading), ``level`` (1 for
    ``#``, 2 for ``##``, 3 for ``###``) and ``markdown``, the heading line and the text up to the next
    heading of any of those levels."""

    title: str
    level: int
    markdown: str

    @property
    def anchor(self) -> str:
        """The heading's link target as GitHub writes it (``#dataset-scan``), without the ``#``."""
        return slug(self.title)


def slug(title: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens ("Dataset scan" ->
    "dataset-scan")."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def checkout_readme() -> Path | None:
    """``README.md`` of the source checkout the package runs from (a clone or an editable install); None for an
    installed package."""
    root = Path(cnnviz.__file__).resolve().parent.parent
    readme = root / "README.md"
    return readme if readme.is_file() and (root / "pyproject.toml").is_file() else None


def readme_text() -> str:
    """The README's Markdown: the checkout's file, else the installed distribution's long description; "" when
    neither is there."""
    path = checkout_readme()
    if path is not None:
        return path.read_text(encoding="utf-8")
    try:
        descriptions = importlib.metadata.metadata(DISTRIBUTION).get_all("Description") or [""]
    except importlib.metadata.PackageNotFoundError:
        return ""
    return str(descriptions[0])


def split_sections(markdown: str) -> list[GuideSection]:
    """``markdown`` cut at its level 1–3 headings, in order (lines inside fenced code blocks, such as a shell
    script's ``#!`` or ``#SBATCH``, are not headings); text before the first heading is a section titled ""."""
    sections: list[GuideSection] = []
    title, level, lines = "", 1, list[str]()
    fenced = False
    for line in markdown.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        heading = None if fenced else HEADING.match(line)
        if heading is not None:
            if title or any(text.strip() for text in lines):
                sections.append(GuideSection(title, level, "\n".join(lines).strip()))
            title, level, lines = heading.group(2), len(heading.group(1)), []
        lines.append(line)
    if title or any(text.strip() for text in lines):
        sections.append(GuideSection(title, level, "\n".join(lines).strip()))
    return sections


def guide_sections() -> list[GuideSection]:
    """The README's sections (:func:`readme_text` split by :func:`split_sections`); one section saying where the
    guide lives when no README is found."""
    sections = split_sections(readme_text())
    return sections or [GuideSection("cnnviz", 1, NOT_FOUND)]
