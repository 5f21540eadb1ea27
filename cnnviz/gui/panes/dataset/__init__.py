"""The Dataset pane: scan an image folder, then see what each unit detects (Zeiler & Fergus Fig. 2) and
which units never fire. The pane (:mod:`~.pane`), its source and layer controls (:mod:`~.controls`), the
Fig. 2 grid (:mod:`~.fig2`), the enlarged unit (:mod:`~.detail`), the unit statistics
(:mod:`~.stats`), the tiles the views draw (:mod:`~.tiles`) and the worker jobs (:mod:`~.jobs`)."""
