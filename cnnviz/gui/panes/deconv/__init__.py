"""The Deconvnet pane: the pane, its figure (single unit and top 9) and its worker jobs."""
