"""The Activations pane: the pane (:mod:`.pane`) and its figure (:mod:`.view`)."""
