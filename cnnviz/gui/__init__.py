"""Qt front end of cnnviz: thin widgets over :mod:`cnnviz.core`.

- :mod:`~cnnviz.gui.runtime.app_state`: the shared state and its signals; :mod:`~cnnviz.gui.runtime.controller` runs
  core work on :mod:`~cnnviz.gui.runtime.worker` threads and writes results back into the state.
- :mod:`~cnnviz.gui.app.registry`: the registry of panes (tabs and docks) of
  :mod:`~cnnviz.gui.app.main_window`; one module per pane (``*_pane.py``).
- Tool panes (filters, activations, deconvnet) build on :mod:`~cnnviz.gui.panes.tool_pane` (layer picker,
  shared selection, background jobs) and :mod:`~cnnviz.gui.runtime.activation_store` (layer outputs cached
  per input); their widgets: :mod:`~cnnviz.gui.widgets.atlas_view` (many maps as one image),
  :mod:`~cnnviz.gui.widgets.map_view`, :mod:`~cnnviz.gui.widgets.vector_view`, :mod:`~cnnviz.gui.widgets.colormaps`,
  :mod:`~cnnviz.gui.widgets.layer_picker`, :mod:`~cnnviz.gui.widgets.figure_export`, :mod:`~cnnviz.gui.widgets.shortcuts`,
  :mod:`~cnnviz.gui.widgets.busy_indicator`.
- The Deep dream pane (:mod:`~cnnviz.gui.panes.dream.pane`) is a tool pane too; its settings column is
  :mod:`~cnnviz.gui.panes.dream.controls` (with :mod:`~cnnviz.gui.widgets.log_spin_box`), its plots
  :mod:`~cnnviz.gui.panes.dream.plots`, and :mod:`~cnnviz.gui.panes.dream.job` runs the dream on the compute
  worker with pause and no lost steps.
- The Occlusion and Invariance panes (:mod:`~cnnviz.gui.panes.occlusion`,
  :mod:`~cnnviz.gui.panes.invariance`) show partial results while their batches run; class colours
  and legends come from :mod:`~cnnviz.gui.widgets.class_colours`.
- :mod:`~cnnviz.gui.runtime.model_loader` and :mod:`~cnnviz.gui.widgets.dialogs`: loading a model for the user.
- :mod:`~cnnviz.gui.app.screenshot`, :mod:`~cnnviz.gui.app.settings`, :mod:`~cnnviz.gui.app.startup`,
  :mod:`~cnnviz.gui.app.application`: PNG export, remembered settings, what shows first, application set-up.
- :mod:`~cnnviz.gui.compat.pyside_fixes`: work-arounds for binding bugs, applied when this package loads;
  :mod:`~cnnviz.gui.compat.gui_thread_gc`: garbage collection on the GUI thread only.
"""

from cnnviz.gui.compat.pyside_fixes import protect_singletons

protect_singletons()
