"""Attribution maps: which input pixels made the network score a class, and can the map be trusted.

::

    from cnnviz.core.per_image import attribution
    a = attribution.attribute(model, x, method="gradcam", target=None, layer=None)
    a.map        # [H, W] float32 at the input's resolution
    attribution.metrics.deletion(model, x, a).auc

One module per family: :mod:`.gradients` (gradient, gradient × input, guided backpropagation,
deconvnet, occlusion), :mod:`.cam` (Grad-CAM, Grad-CAM++, Score-CAM, LayerCAM), :mod:`.integrated`
(integrated gradients) and :mod:`.smooth` (SmoothGrad); :mod:`.metrics` measures faithfulness
(deletion and insertion curves) and, with :mod:`.randomisation` and :mod:`.similarity` (Spearman, SSIM),
sanity (model randomisation). :mod:`.result` holds :class:`Attribution`, :mod:`.common` the shared passes
and :mod:`.methods` the table of methods. Every method is a generator of
:class:`~cnnviz.core.progress.Step` (:func:`attribute_steps`; closing it cancels) with :func:`attribute` on top.
"""

from cnnviz.core.per_image.attribution import metrics
from cnnviz.core.per_image.attribution.cam import default_layer
from cnnviz.core.per_image.attribution.methods import LAYER_METHODS, METHODS, attribute, attribute_steps, parameters
from cnnviz.core.per_image.attribution.result import REDUCTIONS, Attribution

__all__ = ["LAYER_METHODS", "METHODS", "REDUCTIONS", "Attribution", "attribute", "attribute_steps",
           "default_layer", "metrics", "parameters"]
