"""Dataset-level methods: the activation scan and its index and file, feature extraction and tables, the 2-D
embedding, retrieval, the atlas, top patches and the class palette. Imports the groups below it."""
