"""The analysis layer: every analysis of cnnviz as a Qt-free object.

An analysis module (``occlusion``, ``attribution``, ``scan``…) defines a frozen ``Settings`` dataclass whose
fields carry their label, help, unit and range or choices (:mod:`cnnviz.core.settings`), a ``run(model, source,
settings)`` generator yielding :class:`~base.Step` and returning a ``Result`` (arrays, ``caption()``,
``export()``), a matplotlib report figure ``figure(result, width_mm=170, dpi=300)`` and its registry entry
``ANALYSIS``. :mod:`registry` lists them by name for the GUI, ``cnnviz run``, sessions and the report;
:mod:`figures` holds the parts every report figure shares. The tensor maths stay in :mod:`cnnviz.core`;
nothing here imports Qt, pyqtgraph or :mod:`cnnviz.gui` (an import contract checks it).

    from cnnviz.analyses import registry, Source
    occlusion = registry.get("occlusion")
    result = occlusion.compute(model, Source.of_file(model, "cat.jpg"), occlusion.settings(window=16))
    occlusion.figure(result).savefig("occlusion.pdf")
"""

from cnnviz.analyses.base import Analysis, Result, Source, Step, compute

__all__ = ["Analysis", "Result", "Source", "Step", "compute"]
