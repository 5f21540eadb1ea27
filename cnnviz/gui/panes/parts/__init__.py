"""The parts a tool pane is composed of (:class:`~cnnviz.gui.panes.tool_pane.ToolPane`,
:class:`~cnnviz.gui.panes.run_pane.RunPane`), each a small ``QObject`` parented to the pane so that its
connections to the shared state end with the pane:

- :mod:`.job_runner`: :class:`~.job_runner.JobRunner`, the pane's background jobs, busy indicator and
  info line, and the wait for a captured layer output;
- :mod:`.layer_binding`: :class:`~.layer_binding.LayerBinding`, the layer picker, listed per model on the
  compute worker and kept in step with the shared layer and channel selection;
- :mod:`.settings_binding`: :class:`~.settings_binding.SettingsBinding`, the pane's named settings (what
  sessions save and ``cnnviz run --set`` sets);
- :mod:`.figure_part`: :class:`~.figure_part.FigurePart`, the pane's figure, its export, *Add to report*
  action, report figure and caption;
- :mod:`.run_controls`: :class:`~.run_controls.RunControls`, the Run and Cancel buttons, the progress bar
  and the PARTIAL label of a pane that runs one long job at a time.

Parts are below the panes: a pane imports them, a part never imports a pane; what a part needs from its
pane it is given as callables.
"""
