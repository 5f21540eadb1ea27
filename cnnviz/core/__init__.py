"""Qt-free core of cnnviz: models, images, layer tables and the analyses.

Nothing in this package imports Qt, so every action of the GUI can be scripted, tested headless and
run from the command line::

    from cnnviz.core import wrap, occlusion
    model = wrap(my_module, input_size=(32, 32))
    maps = occlusion.occlude(model, x, window=8, stride=2)

:func:`wrap` makes a :class:`LoadedModel` of any ``nn.Module``; :mod:`~cnnviz.core.model.models` loads the
bundled model, torchvision's zoo and model files. Analyses take ``(model, x, *, ...)`` with every
argument after the input given by keyword.

The modules are grouped by role; each group imports only the groups below it (an import-linter ``layers``
contract in ``pyproject.toml``), top to bottom:

- :mod:`~cnnviz.core.files`: captions, the HTML/PDF reports and session files;
- :mod:`~cnnviz.core.training`: training a copy of a model (probe, fine-tune, from scratch), layer probes;
- :mod:`~cnnviz.core.per_dataset`: the activation scan, features, embedding, retrieval, atlas, top patches;
- :mod:`~cnnviz.core.per_image`: activations, filters, deconvnet, occlusion, invariance, dream, attribution;
- :mod:`~cnnviz.core.model`: model loading and wrapping, forward passes and hooks, layer table, receptive fields;
- :mod:`~cnnviz.core.data`: images, inputs, datasets, Fashion-MNIST, bundled resources.

Three shared leaves, :mod:`~cnnviz.core.progress` (steps, progress callbacks, cancelling),
:mod:`~cnnviz.core.tables` (CSV text) and :mod:`~cnnviz.core.settings` (frozen settings with their labels,
help and ranges), may be imported by every group and import none. The names below are
re-exported here so that scripts write ``from cnnviz.core import occlusion`` whatever group a module is in.
"""

from cnnviz.core import settings, training
from cnnviz.core.data import datasets, images
from cnnviz.core.model import forward, layers, models
from cnnviz.core.model.loaded_model import LoadedModel, wrap
from cnnviz.core.per_dataset import embedding, features, retrieval, scan, top_patches
from cnnviz.core.per_image import attribution, deconv, dream, filters, invariance, occlusion
from cnnviz.core.progress import Cancelled, ProgressFn

__all__ = [
    "Cancelled", "LoadedModel", "ProgressFn", "attribution", "datasets", "deconv", "dream", "embedding", "features",
    "filters", "forward", "images", "invariance", "layers", "models", "occlusion", "retrieval", "scan",
    "settings", "top_patches", "training", "wrap",
]
