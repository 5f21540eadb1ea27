"""Per-image methods: activations, filters, deconvnet projections, occlusion, invariance curves, deep dream,
attribution and the layer choices they offer. Imports the groups below it (``model``, ``data``)."""
