"""The settings of the Feature space pane: pooling (with GeM's p), the map's method (t-SNE's perplexity
and seed), the feature size of the chosen layer and the caption of a map."""

import importlib.util
from dataclasses import dataclass
from html import escape

from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QSpinBox, QWidget

from cnnviz.core.per_dataset import features
from cnnviz.gui.panes.features.job import MapResult
from cnnviz.gui.panes.tool_pane import shrinkable
from cnnviz.gui.widgets.layer_picker import LayerChoice

POOLING_TITLES = {"auto": "auto", "avg": "average", "max": "max", "gem": "GeM", "flatten": "flatten"}
POOLING_TIPS = {
    "auto": "Average over positions for a conv layer; a vector layer is used as it is",
    "avg": "Average of each channel over positions",
    "max": "Largest value of each channel",
    "gem": "Generalised mean (mean of x^p)^(1/p): p = 1 is the average, a large p approaches the max",
    "flatten": "The whole map as one long vector (channels × positions)",
}
METHOD_TITLES = {"tsne": "t-SNE", "pca": "PCA", "umap": "UMAP"}
UMAP_MISSING = "UMAP needs the optional package umap-learn (pip install 'cnnviz[umap]')"


def caption(result: MapResult) -> str:
    """HTML caption of a map: model, layer, pooling, method, KL divergence (t-SNE) and mAP."""
    request, f, e = result.request, result.features, result.embedding
    pooling = "vector" if f.pooling == "none" else POOLING_TITLES.get(f.pooling, f.pooling)
    if f.pooling == "gem":
        pooling += f" p={f.p:g}"
    parts = [f"<b>{escape(f.model_name)}</b>", escape(f.layer), f"{pooling} ({f.size})", METHOD_TITLES[e.method]]
    if e.kl_divergence is not None:
        parts.append(f"KL {e.kl_divergence:.3f}")
    parts.append(f"mAP {result.scores.mean_average_precision:.3f}" if result.scores is not None else "no mAP")
    return " · ".join(parts) + f"<br>{escape(request.dataset.name)}: {len(f.images)} images"


def umap_available() -> bool:
    """True when umap-learn can be imported."""
    return importlib.util.find_spec("umap") is not None


def size_text(choice: LayerChoice | None, pooling: str) -> str:
    """The feature length of ``choice`` pooled by ``pooling``: "4096" for a vector layer,
    "256 with GeM" for maps ("" without a layer)."""
    if choice is None:
        return ""
    shape = (1, *choice.shape)
    size = features.feature_size(shape, pooling)
    used = features.used_pooling(shape, pooling)
    return str(size) if used == "none" else f"{size} with {POOLING_TITLES[used]}"


@dataclass(frozen=True)
class MapSettings:
    """What the controls ask for: ``pooling`` (:data:`cnnviz.core.per_dataset.features.POOLINGS`), GeM ``p``,
    ``method`` (:data:`cnnviz.core.per_dataset.embedding.METHODS`), t-SNE ``perplexity`` and ``seed``."""

    pooling: str
    p: float
    method: str
    perplexity: float
    seed: int


class SettingsRow(QWidget):
    """Pooling, p, method, perplexity and seed in one row."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pooling_combo = QComboBox()
        for key in features.POOLINGS:
            self.pooling_combo.addItem(POOLING_TITLES[key], key)
            self.pooling_combo.setItemData(self.pooling_combo.count() - 1, POOLING_TIPS[key], 3)
        self.p_spin = QDoubleSpinBox()
        self.p_spin.setRange(0.1, 100.0)
        self.p_spin.setValue(3.0)
        self.p_spin.setSingleStep(0.5)
        self.p_spin.setToolTip("GeM exponent p (1: average; large: max)")
        self.method_combo = QComboBox()
        for key in ("tsne", "pca", "umap"):
            self.method_combo.addItem(METHOD_TITLES[key], key)
        self._build_tsne()
        self._disable_umap()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (QLabel("Pooling"), self.pooling_combo, QLabel("p"), self.p_spin, QLabel("Map"),
                       self.method_combo, QLabel("Perpl."), self.perplexity_spin, QLabel("Seed"), self.seed_spin):
            layout.addWidget(widget)
        layout.addStretch(1)
        shrinkable(self.pooling_combo, self.method_combo, self.p_spin, self.perplexity_spin, self.seed_spin)
        self.pooling_combo.currentIndexChanged.connect(lambda _i: self._sync())
        self.method_combo.currentIndexChanged.connect(lambda _i: self._sync())
        self._sync()

    def _build_tsne(self) -> None:
        self.perplexity_spin = QDoubleSpinBox()
        self.perplexity_spin.setRange(2.0, 200.0)
        self.perplexity_spin.setValue(30.0)
        self.perplexity_spin.setToolTip("t-SNE perplexity: about how many neighbours each point keeps close "
                                        "(capped at (N − 1) / 3)")
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setToolTip("Random seed: the same seed gives the same map")

    def _disable_umap(self) -> None:
        if umap_available():
            return
        index = self.method_combo.findData("umap")
        item = self.method_combo.model().item(index)  # type: ignore[attr-defined]
        item.setEnabled(False)
        item.setToolTip(UMAP_MISSING)
        self.method_combo.setItemData(index, UMAP_MISSING, 3)

    @property
    def pooling(self) -> str:
        """The pooling chosen."""
        return str(self.pooling_combo.currentData())

    @property
    def method(self) -> str:
        """The map method chosen."""
        return str(self.method_combo.currentData())

    def settings(self) -> MapSettings:
        """The current settings."""
        return MapSettings(self.pooling, float(self.p_spin.value()), self.method,
                           float(self.perplexity_spin.value()), int(self.seed_spin.value()))

    def choose(self, pooling: str | None = None, method: str | None = None) -> None:
        """Select ``pooling`` and/or ``method`` (for scripts and tests)."""
        if pooling is not None:
            self.pooling_combo.setCurrentIndex(self.pooling_combo.findData(pooling))
        if method is not None:
            self.method_combo.setCurrentIndex(self.method_combo.findData(method))

    def _sync(self) -> None:
        self.p_spin.setEnabled(self.pooling == "gem")
        tsne = self.method == "tsne"
        self.perplexity_spin.setEnabled(tsne)
        self.seed_spin.setEnabled(self.method != "pca")
