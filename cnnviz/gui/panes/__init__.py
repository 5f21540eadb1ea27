"""One module per pane; :mod:`~cnnviz.gui.panes.tool_pane` and :mod:`~cnnviz.gui.panes.run_pane`
are the bases of the panes that show layers and run jobs; the Deep dream pane is a subpackage."""
