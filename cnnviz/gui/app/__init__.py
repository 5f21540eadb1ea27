"""Application shell: the main window, the pane registry, start-up, remembered settings, screenshots."""
