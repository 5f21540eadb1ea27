"""The Training pane: train a copy of the model on the shared dataset and watch it learn."""
