"""The Attribution pane: the pane, its controls (methods, classes, parameters, display), the map grid with
its metrics rows, the curves plot, the exports and the worker job."""
