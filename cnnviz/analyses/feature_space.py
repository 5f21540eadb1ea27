"""Feature space as an analysis: one feature vector per image of a dataset (a layer's output, pooled), a 2-D
map of them (t-SNE, PCA or UMAP) coloured by class, retrieval scores (mAP, precision@k, AP per class) and,
for a query image of the dataset, its nearest images. The maths is
:func:`cnnviz.core.per_dataset.features.extract_steps`,
:func:`cnnviz.core.per_dataset.embedding.project_steps` and :mod:`cnnviz.core.per_dataset.retrieval`.
"""

import dataclasses
import math
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.gridspec import SubplotSpec
from matplotlib.lines import Line2D

from cnnviz.analyses import figures, layer_rules, map_cache
from cnnviz.analyses.base import Analysis, Result, Source, Step, about
from cnnviz.core.data.datasets import ImageDataset
from cnnviz.core.data.images import ImageLoadError
from cnnviz.core.files.caption import Caption
from cnnviz.core.model.loaded_model import LoadedModel
from cnnviz.core.per_dataset import embedding, feature_tables, features, retrieval
from cnnviz.core.per_dataset.class_palette import PALETTE
from cnnviz.core.per_dataset.embedding import Embedding
from cnnviz.core.per_dataset.features import Features
from cnnviz.core.per_dataset.retrieval import Match, RetrievalScores
from cnnviz.core.per_image.layer_choices import layer_choices
from cnnviz.core.settings import SettingsBase, setting

NAME = "features"
METHOD_TITLES = {"tsne": "t-SNE", "pca": "PCA", "umap": "UMAP"}
ITERATIONS = (250, 500)
"""t-SNE's early-exaggeration and normal iterations (the pane's)."""
BATCH_SIZE = 64
"""Images per forward pass while extracting features."""
THUMB_PX = 160
"""Longest side, in pixels, of the query and match images a result keeps for its figure."""
UNLABELLED_COLOUR = "#969696"
MAX_LEGEND = 20
"""Most classes the map's legend names (the palette's length: colours repeat after it)."""
MAX_BARS = 20
"""Most classes the AP chart shows (the best and the worst halves when there are more)."""
TITLE_PAD = 3 + figures.MIN_FONT_PT / 2
"""Gap under the map's and the AP chart's titles, in points: clear of a tick label at the top edge."""
TILE_TEXT_IN = 0.3
"""Height of a strip tile's title and class name, in inches."""
TICK, CROSS = "✓", "✗"
SAME, OTHER = "#1e8c3c", "#c81e1e"
"""Frame colours of a match with the query's class and with another class."""


@dataclass(frozen=True)
class Settings(SettingsBase):
    """Layer, pooling, map method and retrieval query (see each field's help)."""

    layer: str = setting("", label="Layer", help="Layer whose output makes each image's feature vector; empty: "
                         "the first layer offered (as the Feature space pane).")
    pooling: str = setting("auto", label="Pooling", choices=features.POOLINGS,
                           help="How a layer's maps become one vector: auto (average for maps, a vector layer as "
                                "it is), average or max over positions, GeM (generalised mean) or flatten.")
    p: float = setting(3.0, label="GeM p", low=0.1, high=100.0,
                       help="Exponent of GeM pooling: 1 is the average, a large p approaches the max.")
    method: str = setting("tsne", label="Map", choices=embedding.METHODS,
                          help="How the features become a 2-D map: PCA, t-SNE (openTSNE) or UMAP (needs umap-learn).")
    perplexity: float = setting(30.0, label="Perplexity", low=2.0, high=200.0,
                                help="t-SNE perplexity: about how many neighbours each point keeps close (capped "
                                     "at (N − 1) / 3).")
    seed: int = setting(0, label="Seed", low=0, high=2**31 - 1,
                        help="Random seed of t-SNE and UMAP: the same seed gives the same map.")
    query: int | None = setting(None, label="Query image", low=0, none="no retrieval",
                                help="Dataset index of the image whose nearest images are shown.")
    k: int = setting(15, label="Nearest images", low=1, high=50,
                     help="How many of the query's nearest images are shown.")

    def caption_fields(self) -> dict[str, Any]:
        """The fields that shaped the result: p only with GeM pooling, the perplexity only for t-SNE, the
        seed not for PCA, k only with a query."""
        fields = super().caption_fields()
        unused = {"p": self.pooling != "gem", "perplexity": self.method != "tsne", "seed": self.method == "pca",
                  "k": self.query is None}
        return {name: value for name, value in fields.items() if not unused.get(name, False)}


@dataclass(frozen=True, kw_only=True)
class FeatureSpaceResult(Result):
    """The ``features`` (values [N, D], dataset indices, labels, classes, paths), the map ``embedding`` (``xy``
    [N, 2], one row per feature row), the retrieval ``scores`` (None without labels: ``scores_note`` says why)
    and, for a query, its dataset index, label, ``matches`` (nearest first) and the pictures shown
    (``query_picture``, ``match_pictures``: uint8 [H, W] or [H, W, 3] at most :data:`THUMB_PX` px, None where
    one could not be read)."""

    analysis: ClassVar[str] = NAME
    settings: Settings
    features: Features
    embedding: Embedding
    scores: RetrievalScores | None = None
    scores_note: str = ""
    query: int | None = None
    query_label: int | None = None
    matches: tuple[Match, ...] = ()
    query_picture: np.ndarray | None = None
    match_pictures: tuple[np.ndarray | None, ...] = ()

    def arrays(self) -> dict[str, np.ndarray]:
        """``xy`` [N, 2], ``images`` [N] (dataset indices), ``labels`` [N] (with labels) and, for a query,
        ``neighbours`` [k] (dataset indices, nearest first) and their cosine ``similarities`` [k]."""
        found = {"xy": self.embedding.xy, "images": self.features.images}
        if self.features.labels is not None:
            found["labels"] = self.features.labels
        if self.query is not None:
            found["neighbours"] = np.array([m.image for m in self.matches], dtype=np.int64)
            found["similarities"] = np.array([m.similarity for m in self.matches], dtype=np.float64)
        return found

    def tables(self) -> dict[str, str]:
        """``map`` (index, file, label, x, y), ``scores`` (mAP, precision@k, AP per class) and, for a query,
        ``matches`` (rank, index, file, label, similarity, same label)."""
        found = {"map": feature_tables.map_csv(self.features, self.embedding.xy)}
        if self.scores is not None:
            found["scores"] = feature_tables.scores_csv(self.scores)
        if self.query is not None:
            found["matches"] = feature_tables.matches_csv(self.features, self.matches, self.query_label)
        return found

    def resolved(self) -> dict[str, Any]:
        """The layer, the pooling used, feature length, images mapped, t-SNE's perplexity used and KL
        divergence, the mAP and the query's file and class."""
        f, e = self.features, self.embedding
        found: dict[str, Any] = {"layer": f.layer, "pooling": f.pooling, "feature_size": f.size,
                                 "images": len(f.images)}
        if "perplexity" in e.params:
            found["perplexity"] = e.params["perplexity"]
        if e.params.get("pca_before"):
            found["pca_before"] = e.params["pca_before"]
        if e.kl_divergence is not None:
            found["kl_divergence"] = round(e.kl_divergence, 4)
        if self.scores is not None:
            found["mAP"] = round(self.scores.mean_average_precision, 4)
        if self.query is not None:
            row = f.row_of(self.query)
            found["query_file"] = f.paths[row] if row is not None else str(self.query)
            found["query_class"] = self.class_name(self.query_label)
        return found

    def class_name(self, label: int | None) -> str:
        """The name of class ``label`` ("no label" for None)."""
        if label is None:
            return "no label"
        classes = self.features.classes
        return classes[label] if 0 <= label < len(classes) else f"class {label}"


def default_layer(model: LoadedModel) -> str:
    """The layer the Feature space pane starts with: the first layer offered."""
    return layer_choices(model)[0].name


def defaults(model: LoadedModel) -> Settings:
    """The settings with the model's default layer."""
    return Settings(layer=default_layer(model))


def _picture(dataset: ImageDataset, image: int) -> np.ndarray | None:
    """Dataset image ``image`` as uint8 [H, W] (grey) or [H, W, 3], shrunk to at most :data:`THUMB_PX` px;
    None when it cannot be read."""
    try:
        picture = dataset.image(image)
    except (ImageLoadError, OSError, ValueError):
        return None
    picture = picture.convert("L" if picture.mode in ("L", "1", "I;16", "I") else "RGB")
    picture.thumbnail((THUMB_PX, THUMB_PX))
    return np.asarray(picture)


def _checked_query(settings: Settings, dataset: ImageDataset) -> None:
    if settings.query is not None and settings.query >= len(dataset):
        raise ValueError(f"query: image {settings.query} is not in {dataset.name}; its images are "
                         f"0…{len(dataset) - 1}")


def _search(f: Features, query: int, k: int) -> tuple[int | None, list[Match]]:
    """The query's label and its ``k`` nearest images; ValueError when the query has no features."""
    row = f.row_of(query)
    if row is None:
        raise ValueError(f"query: image {query} could not be read, so it has no features; choose another image")
    label = None if f.labels is None else int(f.labels[row])
    return label, retrieval.search(f, query, k)


def _scores(f: Features) -> tuple[RetrievalScores | None, str]:
    try:
        return retrieval.evaluate(f), ""
    except ValueError as error:
        return None, str(error)


def cached_features(model: LoadedModel, dataset: ImageDataset, layer: str, pooling: str, p: float,
                    cache: Path | None, offset: int = 0, total: int | None = None) -> Generator[Step, None, Features]:
    """:func:`cnnviz.core.per_dataset.features.extract_steps`, reading and writing the features' file in the folder
    ``cache`` (:func:`~cnnviz.core.per_dataset.features.cache_path`; None: not cached) as
    :func:`~cnnviz.core.per_dataset.features.extract` does; yields ``offset`` + images done of ``total`` (default:
    the images)."""
    total = len(dataset) if total is None else total
    path = features.cache_path(cache, model, dataset, layer, pooling, p) if cache is not None else None
    if path is not None and path.is_file():
        try:
            return features.load(path)
        except (OSError, ValueError, KeyError):
            path.unlink(missing_ok=True)
    steps = features.extract_steps(model, dataset, layer=layer, pooling=pooling, p=p, batch_size=BATCH_SIZE)
    try:
        while True:
            yield Step(offset + next(steps).done, total, None, "extracting features")
    except StopIteration as stop:
        found: Features = stop.value
    finally:
        steps.close()
    if path is not None:
        features.save(found, path)
    return found


def with_query(result: FeatureSpaceResult, dataset: ImageDataset, query: int, k: int) -> FeatureSpaceResult:
    """``result`` (a map of ``dataset``) with the ``k`` images nearest to dataset image ``query`` and their
    pictures; ValueError when the query has no features."""
    label, matches = _search(result.features, query, k)
    return dataclasses.replace(
        result, settings=dataclasses.replace(result.settings, query=query, k=k), query=query, query_label=label,
        matches=tuple(matches), query_picture=_picture(dataset, query),
        match_pictures=tuple(_picture(dataset, m.image) for m in matches))


def features_cached(model: LoadedModel, dataset: ImageDataset, settings: Settings, cache: Path) -> bool:
    """True when the folder ``cache`` holds the features ``settings`` ask for (layer, pooling, p) of ``model``
    over ``dataset``: :func:`run` then extracts none."""
    layer = settings.layer or default_layer(model)
    return features.cache_path(cache, model, dataset, layer, settings.pooling, settings.p).is_file()


def _map_file(model: LoadedModel, dataset: ImageDataset, layer: str, settings: Settings, cache: Path | None,
              iterations: tuple[int, int]) -> Path | None:
    """Where the finished map of these settings is kept in the folder ``cache`` (None: not cached)."""
    if cache is None:
        return None
    features_file = features.cache_path(cache, model, dataset, layer, settings.pooling, settings.p)
    return map_cache.map_path(features_file, settings.method, settings.seed, settings.perplexity, iterations)


def _mapped(f: Features, settings: Settings, head: Caption, iterations: tuple[int, int], offset: int, total: int
            ) -> Generator[Step, None, Embedding]:
    """The map of ``f``: a :class:`Step` (``offset`` + map iterations done, of ``total``) with the partial map after
    each t-SNE chunk, returning the finished map."""
    mapping = embedding.project_steps(f, settings.method, settings.seed, settings.perplexity, iterations=iterations)
    try:
        while True:
            step = next(mapping)
            partial = None if step.done == 0 else FeatureSpaceResult(
                settings=settings, head=head, partial=True, features=f,
                embedding=Embedding(step.partial, settings.method))
            yield Step(offset + step.done, total, partial, f"{METHOD_TITLES[settings.method]} map")
    except StopIteration as stop:
        mapped: Embedding = stop.value
    finally:
        mapping.close()
    return mapped


def run(model: LoadedModel, source: Source, settings: Settings | None = None, *, cache: Path | None = None,
        iterations: tuple[int, int] = ITERATIONS) -> Generator[Step, None, FeatureSpaceResult]:
    """Features image batch by image batch, then the map (a :class:`Step` with the partial map after each t-SNE
    chunk; ``iterations``: t-SNE's early-exaggeration and normal iterations), then the retrieval scores and the
    query's nearest images. Steps count images, then map iterations (one for PCA and UMAP). With a folder
    ``cache``, the features and the finished map are read from there when saved before (none extracted, no map
    computed: :mod:`~cnnviz.analyses.map_cache`) and saved there after computing."""
    settings = settings or Settings()
    dataset = source.data()
    layer = settings.layer or default_layer(model)
    layer_rules.checked_layer(model, layer, NAME)
    _checked_query(settings, dataset)
    head = about(NAME, model, source)
    count = len(dataset)
    total = count + (sum(iterations) if settings.method == "tsne" else 1)
    f = yield from cached_features(model, dataset, layer, settings.pooling, settings.p, cache, total=total)
    saved = _map_file(model, dataset, layer, settings, cache, iterations)
    mapped = map_cache.load_map(saved, len(f.images)) if saved is not None else None
    if mapped is None:
        mapped = yield from _mapped(f, settings, head, iterations, count, total)
        if saved is not None:
            map_cache.save_map(mapped, saved)
    else:
        yield Step(total, total, None, f"{METHOD_TITLES[settings.method]} map read from the cache")
    scores, note = _scores(f)
    result = FeatureSpaceResult(settings=settings, head=head, features=dataclasses.replace(f), embedding=mapped,
                                scores=scores, scores_note=note)
    return result if settings.query is None else with_query(result, dataset, settings.query, settings.k)


def colour_of(label: int) -> str:
    """The fixed colour of class ``label`` (the screen's; -1: grey for no label)."""
    return UNLABELLED_COLOUR if label < 0 else PALETTE[label % len(PALETTE)]


def _short(name: str, limit: int) -> str:
    return name if len(name) <= limit else name[:max(limit - 1, 1)] + "…"


def _map_title(result: FeatureSpaceResult) -> str:
    f, e = result.features, result.embedding
    pooling = "vector" if f.pooling == "none" else f.pooling + (f" p={f.p:g}" if f.pooling == "gem" else "")
    scores = [f"{len(f.images)} images"]
    if e.kl_divergence is not None:
        scores.append(f"KL {e.kl_divergence:.3f}")
    if result.scores is not None:
        scores.append(f"mAP {result.scores.mean_average_precision:.3f}")
    return f"{METHOD_TITLES.get(e.method, e.method)} of {_short(f.layer, 28)} ({pooling}, {f.size})\n" + \
        " · ".join(scores)


def _draw_map(ax: Axes, result: FeatureSpaceResult, box_aspect: float) -> None:
    """The map's points coloured by class (legend outside, right), the query and its matches ringed."""
    f, xy = result.features, np.asarray(result.embedding.xy, dtype=float)
    labels = np.full(len(xy), -1) if f.labels is None else np.asarray(f.labels)
    size = float(np.clip(600.0 / max(len(xy), 1) ** 0.5, 1.5, 14.0))
    present = [int(c) for c in np.unique(labels)]
    for label in present:
        rows = labels == label
        ax.scatter(xy[rows, 0], xy[rows, 1], s=size, c=colour_of(label), linewidths=0, rasterized=len(xy) > 2000)
    if result.query is not None and (row := f.row_of(result.query)) is not None:
        rows = [r for m in result.matches if (r := f.row_of(m.image)) is not None]
        ax.scatter(xy[rows, 0], xy[rows, 1], s=size * 4 + 8, facecolors="none", edgecolors="black", linewidths=0.6)
        ax.scatter(xy[row, 0], xy[row, 1], s=70, marker="*", c="black", edgecolors="white", linewidths=0.5)
    _equal_scale(ax, xy, box_aspect)
    ax.tick_params(labelsize=figures.MIN_FONT_PT)
    ax.set_title(_map_title(result), fontsize=figures.FONT_PT, pad=TITLE_PAD)
    if f.labels is not None:
        _map_legend(ax, result, present)


def _equal_scale(ax: Axes, xy: np.ndarray, box_aspect: float) -> None:
    """Limits around the points ``xy`` [N, 2] with one data unit as long across as up, in a box
    ``box_aspect`` (height / width) of the axes' width."""
    low, high = xy.min(axis=0), xy.max(axis=0)
    centre, span = (low + high) / 2, np.maximum(high - low, 1e-6) * 1.08
    span = np.maximum(span, (span[1] / box_aspect, span[0] * box_aspect))
    ax.set_xlim(centre[0] - span[0] / 2, centre[0] + span[0] / 2)
    ax.set_ylim(centre[1] - span[1] / 2, centre[1] + span[1] / 2)
    ax.set_box_aspect(box_aspect)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_anchor("N")
    for axis, (start, end) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        ticks = axis.get_major_locator().tick_values(start, end)
        axis.set_ticks([t for t in ticks if start <= t <= end])


def _map_legend(ax: Axes, result: FeatureSpaceResult, present: list[int]) -> None:
    """The classes' legend right of the map (the first :data:`MAX_LEGEND` classes), with the query's marks."""
    shown = present[:MAX_LEGEND]
    handles = [Line2D([], [], marker="o", color=colour_of(c), linestyle="", markersize=4) for c in shown]
    names = ["no label" if c < 0 else _short(result.class_name(c), 18) for c in shown]
    if result.query is not None:
        handles += [Line2D([], [], marker="*", color="black", linestyle="", markersize=7),
                    Line2D([], [], marker="o", markerfacecolor="none", color="black", linestyle="", markersize=4)]
        names += ["query", "nearest"]
    rest = len(present) - len(shown)
    ax.legend(handles, names, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, handletextpad=0.3,
              title=f"{rest} more classes" if rest > 0 else None, title_fontsize=figures.MIN_FONT_PT)


def _bar_rows(scores: RetrievalScores) -> tuple[list[tuple[str, float]], str]:
    """The (class, AP) bars shown, in class order (best and worst halves by AP when there are more than
    :data:`MAX_BARS`), and the chart's title."""
    rows = list(scores.per_class.items())
    if len(rows) <= MAX_BARS:
        return rows, "AP per class"
    ranked = sorted(rows, key=lambda r: -r[1])
    return ranked[:MAX_BARS // 2] + ranked[-MAX_BARS // 2:], f"AP: {MAX_BARS // 2} best, {MAX_BARS // 2} worst classes"


def _draw_scores(ax: Axes, result: FeatureSpaceResult, box_aspect: float) -> None:
    """Horizontal bars of each class's AP, the mAP as a dashed line, precision@k below."""
    scores = result.scores
    assert scores is not None
    rows, title = _bar_rows(scores)
    index = {name: i for i, name in enumerate(result.features.classes)}
    positions = np.arange(len(rows))
    ax.barh(positions, [v for _, v in rows], color=[colour_of(index.get(n, -1)) for n, _ in rows], height=0.7)
    ax.axvline(scores.mean_average_precision, color="0.2", linestyle=(0, (3, 2)), linewidth=0.8)
    ax.set_yticks(positions, [_short(n, 14) for n, _ in rows])
    ax.invert_yaxis()
    ax.set_xlim(0.0, 1.0)
    ax.set_box_aspect(box_aspect)
    ax.tick_params(labelsize=figures.MIN_FONT_PT)
    precision = ", ".join(f"P@{k} {v:.2f}" for k, v in scores.precision_at.items())
    ax.set_xlabel(f"AP (dashed: mAP {scores.mean_average_precision:.3f})\n{precision}", fontsize=figures.MIN_FONT_PT)
    ax.set_title(title, fontsize=figures.FONT_PT, pad=TITLE_PAD)


def _tile_chars(fig: Figure, cols: int) -> int:
    """About how many 7 pt characters fit under one of ``cols`` tiles across the figure."""
    return max(6, int(fig.get_figwidth() * 72 / cols / (figures.MIN_FONT_PT * 0.6)))


def _draw_strip(fig: Figure, spec: SubplotSpec, result: FeatureSpaceResult, cols: int) -> None:
    """The query, then its nearest images (similarity, ✓/✗ for the query's class, a green or red frame),
    ``cols`` to a row."""
    pictures = [result.query_picture, *result.match_pictures]
    rows = math.ceil(len(pictures) / cols)
    grid = spec.subgridspec(rows, cols)
    chars = _tile_chars(fig, cols)
    for i, picture in enumerate(pictures):
        ax = fig.add_subplot(grid[i // cols, i % cols])
        if i == 0:
            label, title, colour = result.query_label, "query", "black"
        else:
            match = result.matches[i - 1]
            label = match.label
            same = None if label is None or result.query_label is None else label == result.query_label
            mark = "" if same is None else (TICK if same else CROSS)
            title = f"{i}. {match.similarity:.2f} {mark}".strip()
            colour = "0.6" if same is None else (SAME if same else OTHER)
        _tile(ax, picture, title, _short(result.class_name(label) if label is not None else "", chars), colour)


def _tile(ax: Axes, picture: np.ndarray | None, title: str, name: str, colour: str) -> None:
    if picture is None:
        ax.imshow(np.full((8, 8), 0.9), cmap="gray", vmin=0.0, vmax=1.0)
        ax.text(3.5, 3.5, "unreadable", ha="center", va="center", fontsize=figures.MIN_FONT_PT)
    else:
        figures.show_image(ax, picture)
    figures.plain(ax)
    ax.set_title(title, fontsize=figures.MIN_FONT_PT, pad=2)
    if name:
        ax.set_xlabel(name, fontsize=figures.MIN_FONT_PT, labelpad=1)
    for spine in ax.spines.values():
        spine.set_color(colour)
        spine.set_linewidth(1.2)


def strip_columns(width_in: float, count: int) -> int:
    """Columns of the retrieval strip of ``count`` tiles on a figure ``width_in`` inches wide: tiles at least
    0.8 in wide, the rows filled evenly."""
    widest = max(4, int(width_in / 0.8))
    rows = math.ceil(count / widest)
    return math.ceil(count / rows)


def figure(result: FeatureSpaceResult, *, width_mm: float = figures.DEFAULT_WIDTH_MM,
           dpi: float = figures.DEFAULT_DPI, width_px: int | None = None, caption: bool = True) -> Figure:
    """The report figure: (a) the map at equal x/y scale, coloured by class (legend beside it), the query
    starred and its nearest images ringed; (b) each class's AP (with labels); (c) the query and its nearest
    images (with a query); the caption below. One column (85 mm) stacks (a) over (b)."""
    width = figures.width_inches(width_mm, dpi, width_px)
    narrow = width < figures.NARROW_IN
    scored = result.scores is not None
    tiles = 1 + len(result.matches) if result.query is not None else 0
    cols = strip_columns(width, tiles) if tiles else 1
    heights = [width * (0.75 if narrow or not scored else 0.55)] * (2 if narrow and scored else 1)
    heights += [(width / cols + TILE_TEXT_IN) * math.ceil(tiles / cols)] if tiles else []
    with figures.report_style():
        fig = figures.report_figure(width_mm, dpi, width_px, aspect=sum(heights) / width)
        outer = fig.add_gridspec(len(heights), 1, height_ratios=heights)
        if narrow or not scored:
            _draw_map(fig.add_subplot(outer[0]), result, 1.0 if scored else 0.6)
            if scored:
                _draw_scores(fig.add_subplot(outer[1]), result, 0.6)
        else:
            top = outer[0].subgridspec(1, 2, width_ratios=[1.9, 1.0])
            _draw_map(fig.add_subplot(top[0]), result, 1.0)
            _draw_scores(fig.add_subplot(top[1]), result, 1.2)
        if tiles:
            _draw_strip(fig, outer[-1], result, cols)
        return figures.finish(fig, result.caption() if caption else None)


ANALYSIS = Analysis(NAME, "2-D map of a dataset's features (t-SNE, PCA, UMAP), coloured by class, and retrieval",
                    Settings, run, figure, input="dataset", defaults=defaults)
