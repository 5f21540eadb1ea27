"""The Deep dream pane's result buttons (Reset, Use as input, Save image…) are enabled only while a
dreamed image is shown: a new image (as "Use as input" makes) or a new model leaves nothing to save."""

from cnnviz.gui.runtime.model_spec import ModelSpec

RUN_MS = 30_000


def result_buttons(pane) -> list[bool]:
    return [button.isEnabled() for button in (pane.reset_button, pane.use_button, pane.save_button)]


def dream(pane, qtbot) -> None:
    pane.start_button.click()
    qtbot.waitUntil(lambda: not pane.running and pane.result is not None, timeout=RUN_MS)


def test_result_buttons_follow_the_dreamed_image(loaded_window, show_pane, settle, qtbot):
    pane = show_pane(loaded_window, "dream")
    pane.form.widget("octaves").setValue(1)
    pane.form.widget("iterations").setValue(3)
    assert result_buttons(pane) == [False, False, False]
    dream(pane, qtbot)
    assert result_buttons(pane) == [True, True, True]
    pane.use_button.click()
    settle(loaded_window)
    assert loaded_window.state.image_name.startswith("dream of ")
    assert pane.result is None and result_buttons(pane) == [False, False, False]
    dream(pane, qtbot)
    assert result_buttons(pane) == [True, True, True]
    loaded_window.controller.load_model(ModelSpec())
    settle(loaded_window)
    assert pane.result is None and result_buttons(pane) == [False, False, False]
