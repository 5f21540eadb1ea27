"""The curves analysis: what it draws and exports equals the runs' recorded histories."""

import numpy as np
import pytest

from cnnviz.analyses import Source, curves, registry
from cnnviz.analyses.base import compute
from cnnviz.core import training
from cnnviz.core.model import checkpoint_files
from tests.core.analyses.figure_layout import assert_readable


@pytest.fixture(scope="module")
def result(two_runs):
    return compute(curves.run(None, Source.of_runs(two_runs), curves.Settings()))


def test_the_curves_are_the_histories(result, two_runs):
    assert result.labels == ("lr=0.01", "lr=0.05")
    array = result.arrays()["curves"]
    assert array.shape == (2, 2, 2, 3)
    for index, folder in enumerate(two_runs):
        history = checkpoint_files.read_meta(folder / "epoch-002")["history"]
        for row in history:
            split = ("train", "val").index(row["split"])
            assert array[index, row["epoch"] - 1, split].tolist() == [row["loss"], row["top1"], row["top3"]]


def test_the_plotted_lines_are_the_histories(result, two_runs):
    figure = curves.figure(result, width_mm=170, dpi=100)
    loss_ax, accuracy_ax = figure.axes[:2]
    lines = {line.get_label(): line.get_ydata() for line in loss_ax.get_lines()}
    val = [row.loss for row in training.open_run(two_runs[1]).rows("val")]
    assert np.array_equal(lines["lr=0.05, validation"], val)
    top1 = [row.top1 for row in training.open_run(two_runs[0]).rows("train")]
    assert any(np.array_equal(line.get_ydata(), top1) for line in accuracy_ax.get_lines())
    assert len(accuracy_ax.get_lines()) == 8  # 2 runs × 2 splits × top-1 and top-3
    assert_readable(figure)


def test_the_exported_tables_hold_every_row_and_the_run_list(result, tmp_path, two_runs):
    written = {path.name for path in result.export(tmp_path, ["npy", "csv"], stem="c")}
    assert written == {"c-curves.npy", "c-history.csv", "c-runs.csv"}
    history = [line for line in (tmp_path / "c-history.csv").read_text().splitlines() if not line.startswith("#")]
    assert history[0] == "run,folder,epoch,split,loss,top1,top3,lr,seconds" and len(history) == 1 + 2 * 4
    runs = [line for line in (tmp_path / "c-runs.csv").read_text().splitlines() if not line.startswith("#")]
    record = training.open_run(two_runs[0])
    assert runs[0] == ("run,best val top-1,test top-1,test top-3,test log-loss,epochs,best epoch,model,mode,seconds,"
                       "folder")
    assert runs[1].startswith(f"lr=0.01,{record.best_val_top1()},nan,nan,nan,2,{record.best_epoch},"
                              f"{record.base['name']},finetune,")
    assert runs[1].endswith(",lr0.01")
    assert result.caption().fields["runs"] == ["lr0.01", "lr0.05"]


def test_a_folder_that_is_not_a_run_is_refused(tmp_path):
    assert registry.get("curves").input == "runs"
    with pytest.raises(ValueError, match="not a training run"):
        compute(curves.run(None, Source.of_runs([tmp_path])))
    with pytest.raises(ValueError, match="needs training runs"):
        compute(curves.run(None, Source("nothing")))
