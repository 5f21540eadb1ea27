"""Qt front end of cnnviz: thin widgets over :mod:`cnnviz.core`.

The package is grouped by role; a module imports only from its own group and the groups below it,
in this order: ``app`` → ``panes`` → ``runtime`` → ``widgets`` → ``compat`` (an import-linter
contract in ``pyproject.toml`` checks it):

- :mod:`cnnviz.gui.app`: the application shell. :mod:`~cnnviz.gui.app.main_window` (the tool column and
  pages, docks, menus; composed of :mod:`~cnnviz.gui.app.context_summary` (model, image and target above the
  tool list), :mod:`~cnnviz.gui.app.menus`, :mod:`~cnnviz.gui.app.docks`, :mod:`~cnnviz.gui.app.recent_menu`
  and :mod:`~cnnviz.gui.app.status_fields`), :mod:`~cnnviz.gui.app.session_consent` (the question before a
  session runs model code), :mod:`~cnnviz.gui.app.registry` (every pane, in one list:
  adding a tool is one line), the Help dialogs (:mod:`~cnnviz.gui.app.help_guide`,
  :mod:`~cnnviz.gui.app.shortcut_list`),
  :mod:`~cnnviz.gui.panes.pane_context` (what a pane is built from), :mod:`~cnnviz.gui.app.startup`,
  :mod:`~cnnviz.gui.app.settings` (remembered settings), :mod:`~cnnviz.gui.app.report_autosave` (the
  report kept between runs), :mod:`~cnnviz.gui.app.quit_guard` (the question before quitting with an unsaved
  report), :mod:`~cnnviz.gui.widgets.screenshot` (PNG of
  a widget), :mod:`~cnnviz.gui.app.application` (the QApplication set-up) and
  :mod:`~cnnviz.gui.app.command_line` (the window's side of the ``cnnviz`` command).
- :mod:`cnnviz.gui.runtime`: what runs behind the panes. :mod:`~cnnviz.gui.runtime.app_state` (the
  shared state and its signals), :mod:`~cnnviz.gui.runtime.controller` (runs core calls on
  :mod:`~cnnviz.gui.runtime.worker` threads and writes results into the state),
  :mod:`~cnnviz.gui.runtime.activation_store` (layer outputs cached per input),
  :mod:`~cnnviz.gui.runtime.model_loader` and :mod:`~cnnviz.gui.runtime.model_spec` (loading a model
  for the user), :mod:`~cnnviz.gui.runtime.settings_store` (the settings store and the data folder).
- :mod:`cnnviz.gui.panes`: one module per pane, each built from a
  :mod:`~cnnviz.gui.panes.pane_context`. :mod:`~cnnviz.gui.panes.tool_pane` is the base of
  the panes that show a layer (layer picker, shared selection, jobs on the compute worker, work only
  while visible); :mod:`~cnnviz.gui.panes.run_pane` adds Run/Cancel, progress with a time estimate,
  partial results and dropping superseded runs, for the Occlusion, Attribution, Invariance, Deep dream,
  Dataset and Feature space panes. Both are composed of the small parts in :mod:`cnnviz.gui.panes.parts`
  (layer binding, job runner, settings binding, figure, run controls), which import no pane. Panes with
  several parts are subpackages: :mod:`cnnviz.gui.panes.dream` (pane, settings column, plots, the settings
  each step used, worker job), :mod:`cnnviz.gui.panes.filters` and :mod:`cnnviz.gui.panes.activations` (pane,
  view of the analysis's result; the filters' worker job), :mod:`cnnviz.gui.panes.deconv` (pane, unit choice,
  unit and top-9 views, jobs),
  :mod:`cnnviz.gui.panes.invariance` (pane, range row, linked plots, hover panel),
  :mod:`cnnviz.gui.panes.dataset` (pane running the scan analysis's two stages, their settings, source and
  layer controls, the view of the analysis's result: Fig. 2 grid, enlarged unit, unit statistics, tiles; the
  patch fetcher, requests and cached index), :mod:`cnnviz.gui.panes.attribution` (the Attribution pane:
  compare, display and per-method parameter forms of the analysis's settings, view of the analysis's result
  with a map grid, metrics rows and curves plot, CSV and .npy exports, remembered settings, run request and
  map cache), :mod:`cnnviz.gui.panes.features` (the Feature space
  pane: settings, one-item scatter maps with a class legend, hover/selection side panel with thumbnails,
  retrieval view, CSV exports, worker jobs) and :mod:`cnnviz.gui.panes.training` (the Training pane: forms,
  pausable run jobs, live curves, run list and its actions, and the Confusion, Evolution and Layer probes tabs
  built when first shown).
- :mod:`cnnviz.gui.widgets`: reusable widgets. Image, map, atlas (many maps as one image) and vector
  views with shared pointer handling (:mod:`~cnnviz.gui.widgets.pointer`), thumbnails of dataset images and
  their captioned grid, colormaps, class colours,
  plot axes whose ticks give the values (:mod:`~cnnviz.gui.widgets.axes`), layer picker, log-scale spin
  box and slider, the wheel guard (wheel turns over unfocused controls scroll their column), busy
  indicator, dialogs, layout builders, figure export, screenshots
  (:mod:`~cnnviz.gui.widgets.screenshot`), shortcuts and labels.
- :mod:`cnnviz.gui.compat`: work-arounds for binding bugs (:mod:`~cnnviz.gui.compat.pyside_fixes`,
  applied when this package loads) and garbage collection on the GUI thread only
  (:mod:`~cnnviz.gui.compat.gui_thread_gc`), and pyqtgraph's view-box menus built on first use
  (:mod:`~cnnviz.gui.compat.pyqtgraph_menus`).
"""

from cnnviz.gui.compat.pyside_fixes import protect_singletons

protect_singletons()
