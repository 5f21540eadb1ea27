"""The Feature space pane: t-SNE/PCA/UMAP maps of a dataset's features and image retrieval."""
