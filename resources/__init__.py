"""Bundled data files of cnnviz (installed as the package ``cnnviz.resources``)."""
