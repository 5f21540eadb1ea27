"""The Dataset pane: scan an image folder, then see what each unit detects (Zeiler & Fergus Fig. 2) and
which units never fire. A view of the scan analysis (:mod:`cnnviz.analyses.scan`): the pane runs its two stages
(the scan, then the projected hits of the units on screen) and its views draw the analysis's result of what is
shown. The pane (:mod:`~.pane`), the analysis's settings it runs and shows (:mod:`~.scan_settings`), where
datasets and saved scans come from (:mod:`~.sources`), the layers a scan tracks (:mod:`~.scan_layers`, their
list :mod:`~.controls`), the view of a scan (:mod:`~.view`: the Fig. 2 grid :mod:`~.fig2`, the enlarged unit
:mod:`~.detail`, the unit statistics :mod:`~.stats`), the tiles the views draw (:mod:`~.tiles`), the patches on
screen (:mod:`~.patch_fetcher`) and the requests and cached index (:mod:`~.jobs`)."""
