"""What runs behind the panes: the app state and its signals, the controller, worker threads,
the activation store and model loading."""
