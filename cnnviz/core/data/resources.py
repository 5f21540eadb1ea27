"""Where the bundled files (default model, sample images, icons) live on disk.

In a source checkout they are in the repository's top-level ``resources/`` folder; an installed wheel
carries the same folder as the package ``cnnviz.resources``.
"""

from importlib import resources
from pathlib import Path


def resources_dir() -> Path:
    """The folder that holds the bundled resources."""
    return Path(str(resources.files("cnnviz.resources")))


def resource_path(*parts: str) -> Path:
    """Path of a bundled resource, e.g. ``resource_path("samples", "chelsea.jpg")``."""
    return resources_dir().joinpath(*parts)
