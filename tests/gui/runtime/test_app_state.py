"""The shared unit position: set with the layer and channel, reset by a new channel, layer, image or
model; pane requests reach the window, which brings that pane to the front."""

from PIL import Image

from cnnviz.gui.runtime.app_state import AppState


def test_the_position_is_reset_by_a_new_channel_layer_or_image(qtbot):
    state = AppState()
    seen: list[object] = []
    state.position_changed.connect(seen.append)
    state.set_layer("features.conv2")
    state.set_channel(3)
    state.set_position((2, 5))
    assert (state.layer, state.channel, state.position) == ("features.conv2", 3, (2, 5))
    channels_seen: list[tuple[int, object]] = []
    state.channel_changed.connect(lambda channel: channels_seen.append((channel, state.position)))
    state.set_channel(4)
    assert state.position is None and channels_seen == [(4, None)]
    state.set_position((1, 1))
    state.set_layer("features.conv3")
    assert (state.channel, state.position) == (-1, None)
    state.set_channel(0)
    state.set_position((0, 2))
    state.set_image(Image.new("L", (8, 8)), "blank")
    assert state.position is None
    assert seen == [(2, 5), None, (1, 1), None, (0, 2), None]


def test_a_requested_pane_comes_to_the_front(window):
    assert window.tabs.currentWidget() is not window.panes["occlusion"]
    window.state.request_pane("occlusion")
    assert window.tabs.currentWidget() is window.panes["occlusion"]
    window.docks["predictions"].hide()
    window.state.request_pane("predictions")
    assert window.docks["predictions"].isVisible()
    window.state.request_pane("no such pane")
    assert window.tabs.currentWidget() is window.panes["occlusion"]
