"""The Dataset pane: scan an image folder, then see what each unit detects (Zeiler & Fergus Fig. 2) and
which units never fire. The pane (:mod:`~.pane`), where datasets and saved scans come from (:mod:`~.sources`),
the layers a scan tracks (:mod:`~.scan_layers`, their list :mod:`~.controls`), the view of a scan
(:mod:`~.view`: the Fig. 2 grid :mod:`~.fig2`, the enlarged unit :mod:`~.detail`, the unit statistics
:mod:`~.stats`), the tiles the views draw (:mod:`~.tiles`), the patches on screen (:mod:`~.patch_fetcher`)
and the worker jobs (:mod:`~.jobs`)."""
