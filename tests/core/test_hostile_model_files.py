"""Model files that are malformed, hostile or load but cannot work: each refused with a ModelLoadError
that says what is wrong (or, for some non-finite outputs, loaded with a warning)."""

import os
import signal
import threading
import zipfile

import pytest
import torch
import torchvision
from torch import nn

from cnnviz.core.model import model_file_kinds, models
from cnnviz.core.model.models import ModelLoadError, UntrustedFileError

NET = ("import torch.nn as nn\n"
       "def build():\n"
       "    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),\n"
       "                         nn.Linear(4, 2))\n")


def model_py(tmp_path, settings="", build=NET, name="net.py"):
    path = tmp_path / name
    path.write_text(settings + "\n" + build)
    return path


@pytest.mark.parametrize(("settings", "message"), [
    ("CATEGORIES = 5", "CATEGORIES must be a list of class names"),
    ("CATEGORIES = ['a', 2]", "CATEGORIES must be a list of class names"),
    ("MEAN = 5", "MEAN must be a list of 3 numbers"),
    ("MEAN = (0.5, 0.5)", "MEAN needs 3 values"),
    ("MEAN = ('a', 'b', 'c')", "MEAN must be a list of 3 numbers"),
    ("MEAN = (float('nan'), 0, 0)", "MEAN must hold finite numbers"),
    ("STD = (0, 0, 0)", "STD must hold finite numbers above 0"),
    ("STD = (0.2, -1, 0.2)", "STD must hold finite numbers above 0"),
    ("INPUT_SIZE = 'abc'", "INPUT_SIZE must be a size in pixels"),
    ("INPUT_SIZE = (-5, 32)", "INPUT_SIZE height must be a whole number of pixels from 1 to 4096"),
    ("INPUT_SIZE = (100000, 100000)", "INPUT_SIZE height must be a whole number of pixels from 1 to 4096"),
    ("INPUT_SIZE = (32, 32, 3)", "INPUT_SIZE must be a size in pixels or a"),
    ("RESIZE = 'big'", "RESIZE must be a whole number of pixels from 1 to 8192"),
    ("RESIZE = 0", "RESIZE must be a whole number"),
    ("IN_CHANNELS = -1", "IN_CHANNELS must be a whole number"),
    ("IN_CHANNELS = True", "IN_CHANNELS must be a whole number"),
    ("IN_CHANNELS = 2", "IN_CHANNELS .* is 2; cnnviz feeds 1 .grey. or 3 .RGB."),
])
def test_bad_optional_names_are_refused_by_name(tmp_path, settings, message):
    with pytest.raises(ModelLoadError, match=f"^net.py: {message}"):
        models.load_file(model_py(tmp_path, settings))


def test_none_means_not_given_and_valid_names_are_used(tmp_path):
    model = models.load_file(model_py(tmp_path, "CATEGORIES = None\nMEAN = None\nINPUT_SIZE = 40\nRESIZE = 48"))
    assert (model.categories, model.mean, model.input_size, model.resize_size) == (
        [], models.IMAGENET_MEAN, (40, 40), 48)


def test_a_two_channel_first_layer_is_refused(tmp_path):
    build = NET.replace("nn.Conv2d(3,", "nn.Conv2d(2,")
    with pytest.raises(ModelLoadError, match=r"first convolution's input channels.* is 2"):
        models.load_file(model_py(tmp_path, build=build))
    path = tmp_path / "two.pt"
    torch.save(nn.Sequential(nn.Conv2d(2, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten()), path)
    with pytest.raises(ModelLoadError, match=r"takes 2 input channels.*grey \(1 channel\) or RGB"):
        models.load_file(path, trust=True)


@pytest.mark.parametrize(("code", "message"), [
    ("import sys\nsys.exit(3)\n", r"Running net.py failed: the code called sys.exit\(3\)"),
    ("raise KeyboardInterrupt\n", "Running net.py failed: the code raised KeyboardInterrupt"),
    ("raise SystemExit\n", r"Running net.py failed: the code called sys.exit\(None\)"),
    ("class Odd(BaseException):\n    pass\nraise Odd('strange')\n", "Running net.py failed: .*Odd: strange"),
])
def test_exits_and_interrupts_at_import_are_reported(tmp_path, code, message):
    with pytest.raises(ModelLoadError, match=message):
        models.load_file(model_py(tmp_path, code))


def test_exits_in_build_and_in_the_first_forward_are_reported(tmp_path):
    exiting_build = "import sys\ndef build():\n    sys.exit('bye')\n"
    with pytest.raises(ModelLoadError, match=r"Running net.py failed: .*sys.exit\('bye'\)"):
        models.load_file(model_py(tmp_path, build=exiting_build))
    forward = ("import torch.nn as nn\nclass Net(nn.Module):\n"
               "    def forward(self, x):\n        raise KeyboardInterrupt\n"
               "def build():\n    return Net()\nIN_CHANNELS = 3\n")
    with pytest.raises(ModelLoadError, match=r"forward pass on an input of shape 1×3×224×224 failed: "
                                             "the code raised KeyboardInterrupt"):
        models.load_file(model_py(tmp_path, build=forward))


def test_an_interrupt_in_user_code_on_a_worker_thread_is_reported(tmp_path):
    path = model_py(tmp_path, "raise KeyboardInterrupt\n")
    caught = []

    def load() -> None:
        try:
            models.load_file(path)
        except BaseException as error:
            caught.append(error)

    thread = threading.Thread(target=load)
    thread.start()
    thread.join(30)
    assert type(caught[0]) is ModelLoadError and "raised KeyboardInterrupt" in str(caught[0])


def test_a_real_ctrl_c_on_the_main_thread_still_interrupts(tmp_path):
    path = model_py(tmp_path, "import os, signal, time\nos.kill(os.getpid(), signal.SIGINT)\ntime.sleep(5)\n")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with pytest.raises(KeyboardInterrupt):
        models.load_file(path)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_upper_case_py_is_source(tmp_path):
    model = models.load_file(model_py(tmp_path, name="UPPER.PY"))
    assert (model.name, model.in_channels) == ("UPPER", 3)


def test_random_bytes_are_not_a_model_file(tmp_path):
    path = tmp_path / "noise.pt"
    path.write_bytes(os.urandom(4096))
    with pytest.raises(ModelLoadError, match=r"noise.pt is not a model file") as caught:
        models.load_file(path)
    assert not isinstance(caught.value, UntrustedFileError)
    assert "pickled" not in str(caught.value)


def test_a_zip_not_laid_out_by_torch_is_refused(tmp_path):
    path = tmp_path / "other.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ModelLoadError, match=r"other.pt is a zip file but not one saved by torch.save"):
        models.load_file(path)


def test_a_zip_that_inflates_beyond_the_cap_is_not_opened(tmp_path, monkeypatch):
    path = tmp_path / "bomb.pt"
    torch.save({"weight": torch.zeros(64, 1024)}, path)  # 256 KiB of zeros, compressed or not
    monkeypatch.setattr(model_file_kinds, "MAX_UNZIPPED_BYTES", 100_000)
    with pytest.raises(ModelLoadError, match=r"bomb.pt would inflate to .* GiB, more than the 0.0 GiB"):
        models.load_file(path)
    monkeypatch.setattr(torch, "load", lambda *args, **kwargs: pytest.fail("torch.load was called"))
    with pytest.raises(ModelLoadError, match="would inflate"):
        models.load_file(path)


def test_only_a_real_pickle_is_offered_the_trust_path(tmp_path):
    legacy = tmp_path / "legacy.pt"
    torch.save(nn.Sequential(nn.Conv2d(3, 2, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten()), legacy,
               _use_new_zipfile_serialization=False)
    with pytest.raises(UntrustedFileError, match=r"legacy.pt holds a pickled Python object"):
        models.load_file(legacy)
    assert models.load_file(legacy, trust=True).in_channels == 3
    plain = tmp_path / "plain.pt"
    plain.write_bytes(b"\x80\x04\x95" + os.urandom(64))  # a pickle header, but not torch's
    with pytest.raises(ModelLoadError, match=r"plain.pt is not a model file") as caught:
        models.load_file(plain)
    assert not isinstance(caught.value, UntrustedFileError)


def test_non_string_state_dict_keys_are_refused(tmp_path):
    path = tmp_path / "ints.pth"
    torch.save({0: torch.zeros(3)}, path)
    with pytest.raises(ModelLoadError, match=r"ints.pth is not a state_dict: .*1 are not, e.g. 0\."):
        models.load_file(path)


def test_an_all_nan_state_dict_is_refused(tmp_path):
    state = torchvision.models.get_model("squeezenet1_1", weights=None).state_dict()
    path = tmp_path / "nan.pth"
    torch.save({key: torch.full_like(value, float("nan")) for key, value in state.items()}, path)
    with pytest.raises(ModelLoadError, match=r"nan.pth holds NaN or infinite weights \(in features.0.weight"):
        models.load_file(path)


def outputs_net(outputs: str) -> str:
    return ("import torch, torch.nn as nn\nIN_CHANNELS = 3\nINPUT_SIZE = 8\n"
            "class Net(nn.Module):\n    def forward(self, x):\n"
            f"        return {outputs}\n"
            "def build():\n    return Net()\n")


@pytest.mark.parametrize(("outputs", "message"), [
    ("x.sum()", "outputs of shape a single number .0-d. for one image"),
    ("x", "outputs of shape 1×3×8×8 for one image; cnnviz needs class scores of shape 1×classes"),
    ("x.flatten()", "outputs of shape 192 for one image"),
    ("x.flatten(1)[:, :0]", "outputs of shape 1×0 for one image"),
    ("torch.full((1, 4), float('nan'))", "^All outputs of the model are NaN or infinite on a blank input"),
    ("torch.full((1, 4), float('inf'))", "^All outputs of the model are NaN or infinite on a blank input"),
    ("'scores'", "forward pass .* failed: TypeError: cannot find class scores"),
])
def test_outputs_that_are_not_class_scores_are_refused(tmp_path, outputs, message):
    with pytest.raises(ModelLoadError, match=message):
        models.load_file(model_py(tmp_path, build=outputs_net(outputs)))


def test_some_non_finite_outputs_are_refused(tmp_path):
    build = outputs_net("torch.tensor([[1.0, float('nan'), 2.0, float('inf')]])")
    with pytest.raises(ModelLoadError, match=r"^2 of the 4 outputs of the model are NaN or infinite"):
        models.load_file(model_py(tmp_path, build=build))


def _pickle_bomb(path, mebibytes):
    """A torch-like zip whose data.pkl inflates to ``mebibytes`` MiB of zeros (a few hundred KiB on disk)."""
    chunk = bytes(2**20)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("archive/data.pkl", "w", force_zip64=True) as member:
            for _ in range(mebibytes):
                member.write(chunk)
        archive.writestr("archive/version", "3\n")
    return path


def test_a_zip_whose_pickle_inflates_is_refused_from_its_directory(tmp_path, monkeypatch):
    import tracemalloc
    path = _pickle_bomb(tmp_path / "bomb.pth", 96)
    assert path.stat().st_size < 2**20
    monkeypatch.setattr(torch, "load", lambda *args, **kwargs: pytest.fail("torch.load was called"))
    tracemalloc.start()
    try:
        with pytest.raises(ModelLoadError, match=r"bomb.pth holds a 96 MiB pickle \(data.pkl\).*under 64 MiB"):
            models.load_file(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20


def test_a_model_file_that_changes_sys_path_leaves_it_as_it_was(tmp_path):
    import sys
    before = list(sys.path)
    code = "import sys\nsys.path.insert(0, '/tmp/injected')\nsys.path.append('/tmp/appended')\n" + NET
    models.load_file(model_py(tmp_path, build=code))
    assert sys.path == before
