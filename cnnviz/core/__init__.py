"""Qt-free core of cnnviz: models, images, layer tables and the analyses.

Nothing in this package imports Qt, so every action of the GUI can be scripted, tested headless and
run from the command line::

    from cnnviz.core import wrap, occlusion
    model = wrap(my_module, input_size=(32, 32))
    maps = occlusion.occlude(model, x, window=8, stride=2)

:func:`wrap` makes a :class:`LoadedModel` of any ``nn.Module``; :mod:`~cnnviz.core.models` loads the
bundled model, torchvision's zoo and model files. Analyses take ``(model, x, *, ...)`` with every
argument after the input given by keyword.
"""

from cnnviz.core import (
    attribution,
    datasets,
    deconv,
    dream,
    embedding,
    features,
    filters,
    forward,
    images,
    invariance,
    layers,
    models,
    occlusion,
    retrieval,
    scan,
    top_patches,
)
from cnnviz.core.loaded_model import LoadedModel, wrap
from cnnviz.core.progress import Cancelled, ProgressFn

__all__ = [
    "Cancelled", "LoadedModel", "ProgressFn", "attribution", "datasets", "deconv", "dream", "embedding", "features",
    "filters", "forward", "images", "invariance", "layers", "models", "occlusion", "retrieval", "scan",
    "top_patches", "wrap",
]
