"""Models and layer geometry: wrapping and loading models (bundled net, torchvision zoo, model files, user code),
forward passes and hooks, the layer table, receptive fields and batching. Imports only :mod:`cnnviz.core.data`
and the shared leaves."""
