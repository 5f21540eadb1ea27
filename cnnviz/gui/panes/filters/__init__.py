"""The Filters pane: the pane (:mod:`.pane`), its figure (:mod:`.view`) and its worker job (:mod:`.grid`)."""
