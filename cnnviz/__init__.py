"""cnnviz: explore what convolutional networks learn."""

__version__ = "0.1.0"
