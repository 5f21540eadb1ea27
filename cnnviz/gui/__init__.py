"""Qt front end of cnnviz: thin widgets over :mod:`cnnviz.core`.

- :mod:`~cnnviz.gui.app_state`: the shared state and its signals; :mod:`~cnnviz.gui.controller` runs
  core work on :mod:`~cnnviz.gui.worker` threads and writes results back into the state.
- :mod:`~cnnviz.gui.panes`: the registry of panes (tabs and docks) of
  :mod:`~cnnviz.gui.main_window`; one module per pane (``*_pane.py``).
- Tool panes (filters, activations, deconvnet) build on :mod:`~cnnviz.gui.tool_pane` (layer picker,
  shared selection, background jobs) and :mod:`~cnnviz.gui.activation_store` (layer outputs cached
  per input); their widgets: :mod:`~cnnviz.gui.atlas_view` (many maps as one image),
  :mod:`~cnnviz.gui.map_view`, :mod:`~cnnviz.gui.vector_view`, :mod:`~cnnviz.gui.colormaps`,
  :mod:`~cnnviz.gui.layer_picker`, :mod:`~cnnviz.gui.figure_export`, :mod:`~cnnviz.gui.shortcuts`,
  :mod:`~cnnviz.gui.busy_indicator`.
- The Deep dream pane (:mod:`~cnnviz.gui.dream_pane`) is a tool pane too; its settings column is
  :mod:`~cnnviz.gui.dream_controls` (with :mod:`~cnnviz.gui.log_spin_box`), its plots
  :mod:`~cnnviz.gui.dream_plots`, and :mod:`~cnnviz.gui.dream_job` runs the dream on the compute
  worker with pause and no lost steps.
- The Occlusion and Invariance panes (:mod:`~cnnviz.gui.occlusion_pane`,
  :mod:`~cnnviz.gui.invariance_pane`) show partial results while their batches run; class colours
  and legends come from :mod:`~cnnviz.gui.class_colours`.
- :mod:`~cnnviz.gui.model_loader` and :mod:`~cnnviz.gui.dialogs`: loading a model for the user.
- :mod:`~cnnviz.gui.screenshot`, :mod:`~cnnviz.gui.settings`, :mod:`~cnnviz.gui.startup`,
  :mod:`~cnnviz.gui.app`: PNG export, remembered settings, what shows first, application set-up.
- :mod:`~cnnviz.gui.pyside_fixes`: work-arounds for binding bugs, applied when this package loads;
  :mod:`~cnnviz.gui.gui_thread_gc`: garbage collection on the GUI thread only.
"""

from cnnviz.gui.pyside_fixes import protect_singletons

protect_singletons()
