"""Checks of a report figure's layout, read from matplotlib's own boxes after drawing: nothing overlaps,
the caption sits below every axes, the content spans the width, no font is under 7 pt."""

import itertools

from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from cnnviz.analyses import figures

TOLERANCE_PX = 1.0
"""Boxes may touch by this many pixels (anti-aliased edges)."""


def _shrunk(box: Bbox, by: float = TOLERANCE_PX) -> Bbox:
    return Bbox.from_extents(box.x0 + by, box.y0 + by, box.x1 - by, box.y1 - by)


def _overlap(a: Bbox, b: Bbox) -> bool:
    return _shrunk(a).overlaps(_shrunk(b)) and a.width > 2 and b.width > 2 and a.height > 2 and b.height > 2


def _owner(text: Text):
    return text.axes


def _related(a, b) -> bool:
    """True when one axes is the other's inset (a colour bar) or they are the same."""
    return a is b or a in getattr(b, "child_axes", ()) or b in getattr(a, "child_axes", ())


def problems(figure: Figure) -> list[str]:
    """What is wrong with ``figure``'s layout (empty: nothing)."""
    figure.draw_without_rendering()
    renderer = figure.canvas.get_renderer()
    axes = [ax for ax in figure.axes if ax.get_visible() and ax.axison]
    found: list[str] = []
    for a, b in itertools.combinations(axes, 2):
        if not _related(a, b) and _overlap(a.get_window_extent(renderer), b.get_window_extent(renderer)):
            found.append(f"axes {a.get_title()!r} overlaps axes {b.get_title()!r}")
    texts = [t for t in figures.texts(figure) if t.get_window_extent(renderer).width > 0]
    boxes = {id(t): t.get_window_extent(renderer) for t in texts}
    inside = figure.bbox
    for text in texts:
        box = boxes[id(text)]
        if box.x0 < inside.x0 - TOLERANCE_PX or box.x1 > inside.x1 + TOLERANCE_PX or box.y0 < inside.y0 - TOLERANCE_PX \
                or box.y1 > inside.y1 + TOLERANCE_PX:
            found.append(f"text {text.get_text()[:40]!r} is cut by the figure's edge")
        if text.get_fontsize() < figures.MIN_FONT_PT - 1e-6:
            found.append(f"text {text.get_text()!r} is {text.get_fontsize():g} pt")
        for ax in axes:
            owner = _owner(text)
            if owner is not None and _related(owner, ax):
                continue
            if _overlap(boxes[id(text)], ax.get_window_extent(renderer)):
                found.append(f"text {text.get_text()[:40]!r} overlaps axes {ax.get_title()!r}")
    for a, b in itertools.combinations(texts, 2):
        if _overlap(boxes[id(a)], boxes[id(b)]):
            found.append(f"text {a.get_text()[:30]!r} overlaps text {b.get_text()[:30]!r}")
    captions = [t for t in figure.texts if t.get_gid() == "caption"]
    if captions:
        top = boxes[id(captions[0])].y1
        lowest = min(ax.get_tightbbox(renderer).y0 for ax in figure.axes if ax.get_visible())
        if top > lowest + TOLERANCE_PX:
            found.append("the caption is not below the axes")
    content = figures.content_box(figure)
    if content.width < 0.9 * figure.get_figwidth():
        found.append(f"the content spans {content.width / figure.get_figwidth():.0%} of the width")
    return found


def assert_readable(figure: Figure) -> None:
    """Fail with every :func:`problems` of ``figure``."""
    found = problems(figure)
    assert not found, "\n".join(found)
