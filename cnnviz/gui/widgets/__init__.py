"""Reusable widgets: image, map, atlas and vector views, colormaps, pickers, dialogs, figure export."""
