"""A replaced model is freed: no cache, pane, task or result keeps the old LoadedModel alive."""

import gc
import weakref

from cnnviz.core.model.hooks import hook_count
from cnnviz.gui.app.registry import CENTRAL_PANES
from cnnviz.gui.runtime.model_spec import ModelSpec


def test_the_old_model_is_freed_after_loading_another(loaded_window, qtbot, settle):
    window = loaded_window
    for pane in CENTRAL_PANES:
        widget = window.capture_target(pane.key)
        qtbot.waitUntil(lambda w=widget: window.controller.settled and getattr(w, "settled", True), timeout=30_000)
    occlusion = window.capture_target("occlusion")
    occlusion.run_button.click()
    qtbot.waitUntil(lambda: occlusion.outcome == "done", timeout=30_000)
    window.capture_target("activations")
    old = weakref.ref(window.state.model)
    old_module = weakref.ref(window.state.model.module)
    store = window.controller.activations
    qtbot.waitUntil(lambda: store.cached_bytes > 0, timeout=10_000)

    bytes_at_change = []
    window.state.model_changed.connect(lambda _model: bytes_at_change.append(store.cached_bytes))
    window.controller.load_model(ModelSpec())
    qtbot.waitUntil(lambda: window.state.model is not old(), timeout=30_000)
    assert bytes_at_change == [0]
    settle(window)
    qtbot.waitUntil(lambda: window.panes["activations"].settled, timeout=30_000)
    gc.collect()
    assert old() is None and old_module() is None
    assert hook_count(window.state.model.module) == 0
