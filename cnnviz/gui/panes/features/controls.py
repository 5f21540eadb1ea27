"""The settings of the Feature space pane: the form of the feature space analysis's pooling (with GeM's p) and
map method (t-SNE's perplexity, the seed), the feature size of the chosen layer and the caption of a map."""

import importlib.util
from html import escape

from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QComboBox, QWidget

from cnnviz.analyses import feature_space
from cnnviz.analyses.feature_space import FeatureSpaceResult
from cnnviz.core.per_dataset import features
from cnnviz.gui.panes.tool_pane import shrinkable
from cnnviz.gui.widgets.layer_picker import LayerChoice
from cnnviz.gui.widgets.settings_form import SettingsForm

FIELDS = ("pooling", "p", "method", "perplexity", "seed")
"""The analysis settings the form shows (the layer is the pane's picker's; the query the current image)."""
POOLING_TITLES = {"auto": "auto", "avg": "average", "max": "max", "gem": "GeM", "flatten": "flatten"}
POOLING_TIPS = {
    "auto": "Average over positions for a conv layer; a vector layer is used as it is",
    "avg": "Average of each channel over positions",
    "max": "Largest value of each channel",
    "gem": "Generalised mean (mean of x^p)^(1/p): p = 1 is the average, a large p approaches the max",
    "flatten": "The whole map as one long vector (channels × positions)",
}
METHOD_TITLES = feature_space.METHOD_TITLES
SHORT_LABELS = {"p": "p", "perplexity": "Perpl."}
"""Shorter labels than the settings' own for the fields of a crowded row (the tooltips say what they are)."""
UMAP_MISSING = "UMAP needs the optional package umap-learn (pip install 'cnnviz[umap]')"


def caption(result: FeatureSpaceResult) -> str:
    """HTML caption of a map: model, layer, pooling, method, KL divergence (t-SNE), mAP and the dataset."""
    f, e = result.features, result.embedding
    pooling = "vector" if f.pooling == "none" else POOLING_TITLES.get(f.pooling, f.pooling)
    if f.pooling == "gem":
        pooling += f" p={f.p:g}"
    parts = [f"<b>{escape(f.model_name)}</b>", escape(f.layer), f"{pooling} ({f.size})", METHOD_TITLES[e.method]]
    if e.kl_divergence is not None:
        parts.append(f"KL {e.kl_divergence:.3f}")
    parts.append(f"mAP {result.scores.mean_average_precision:.3f}" if result.scores is not None else "no mAP")
    return " · ".join(parts) + f"<br>{escape(result.head.dataset)}: {len(f.images)} images"


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


def map_form() -> SettingsForm:
    """The form of :data:`FIELDS` in one row: each pooling with its tooltip, UMAP offered only where umap-learn
    is installed, p enabled for GeM only, the perplexity for t-SNE only and the seed not for PCA."""
    form = SettingsForm(feature_space.Settings, fields=FIELDS,
                        titles={"pooling": POOLING_TITLES, "method": METHOD_TITLES})
    pooling, method = form.widget("pooling"), form.widget("method")
    assert isinstance(pooling, QComboBox) and isinstance(method, QComboBox)
    for index in range(pooling.count()):
        pooling.setItemData(index, POOLING_TIPS[pooling.itemData(index)], 3)
    if not umap_available():
        model = method.model()
        assert isinstance(model, QStandardItemModel)
        item = model.item(method.findData("umap"))
        item.setEnabled(False)
        item.setToolTip(UMAP_MISSING)
        method.setItemData(method.findData("umap"), UMAP_MISSING, 3)
    shrinkable(*(w for w in map(form.widget, FIELDS) if isinstance(w, QWidget)))
    for name, short in SHORT_LABELS.items():  # the row fits a narrow pane
        label = form.label(name)
        if label is not None:
            label.setText(short)
    form.changed.connect(lambda _name: sync(form))
    sync(form)
    return form


def sync(form: SettingsForm) -> None:
    """Enable the fields the chosen pooling and method use."""
    method = form.value("method")
    for name, used in (("p", form.value("pooling") == "gem"), ("perplexity", method == "tsne"),
                       ("seed", method != "pca")):
        widget = form.widget(name)
        assert isinstance(widget, QWidget)
        widget.setEnabled(used)
