"""The Invariance pane: the pane and its plots of the curves."""
