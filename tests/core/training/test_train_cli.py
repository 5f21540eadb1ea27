"""``cnnviz train`` and ``cnnviz probe`` as a user runs them (in this process: the command's ``main``),
and the data-parallel run of two processes under ``torchrun`` on CPU (gloo)."""

import csv
import json
import subprocess
import sys

import pytest

from cnnviz import train_cli
from cnnviz.core.data import fashion_mnist

pytestmark = pytest.mark.skipif(not fashion_mnist.available(), reason="Fashion-MNIST is not installed")


def torchrun(*args, timeout=300):
    launcher = (sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "cnnviz")
    return subprocess.run([*launcher, *args], capture_output=True, text=True, timeout=timeout)


def table(path):
    with open(path, newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def test_train_writes_the_course_table_and_a_checkpoint_per_epoch(tmp_path, capsys):
    out = tmp_path / "run"
    status = train_cli.main("train", ["--fashion-mnist", "--limit", "200", "--mode", "probe", "--epochs", "2",
                                      "--workers", "0", "--set", "lr=0.05", "--out", str(out)])
    done = capsys.readouterr()
    assert status == 0, done.err
    rows = table(out / "results.csv")
    assert [(r["split"], r["images"]) for r in rows] == [("train", "200"), ("val", "22"), ("test", "200")]
    assert all(0 < float(r["top-1"]) <= float(r["top-3"]) <= 1 for r in rows)
    assert "epoch 2/2: train loss" in done.err and "test " in done.out
    summary = json.loads((out / "results.json").read_text())
    assert [h["split"] for h in summary["history"]] == ["train", "val", "train", "val"]
    assert sorted(p.name for p in out.glob("epoch-*")) == ["epoch-001", "epoch-002"]


def test_bad_arguments_exit_2_before_anything_runs(tmp_path, capsys):
    assert train_cli.main("train", ["--fashion-mnist", "--set", "lr=0", "--out", str(tmp_path / "r")]) == 2
    assert "lr: the learning rate must be a finite number above 0" in capsys.readouterr().err
    assert train_cli.main("train", ["--out", str(tmp_path / "r")]) == 2
    assert "--data DIR or --fashion-mnist" in capsys.readouterr().err
    assert train_cli.main("train", ["--fashion-mnist", "--set", "augment=blur", "--out", str(tmp_path / "r")]) == 2
    assert "augment: 'blur' is not an augmentation" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_probe_writes_one_row_per_layer(tmp_path, capsys):
    out = tmp_path / "probe.csv"
    status = train_cli.main("probe", ["--fashion-mnist", "--limit", "200", "--layers", "features.conv1,classifier.fc1",
                                      "--workers", "0", "--out", str(out)])
    assert status == 0, capsys.readouterr().err
    rows = table(out)
    assert [r["layer"] for r in rows] == ["features.conv1", "classifier.fc1"]
    assert float(rows[1]["test top-1"]) > float(rows[0]["test top-1"])


def test_two_processes_train_data_parallel_and_only_rank_0_writes(tmp_path):
    out = tmp_path / "ddp"
    done = torchrun("train", "--fashion-mnist", "--limit", "201", "--mode", "finetune", "--epochs", "1",
                    "--workers", "0", "--set", "lr=0.02", "--set", "batch_size=25", "--out", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((out / "results.json").read_text())
    train_row = summary["history"][0]
    assert train_row["split"] == "train" and train_row["images"] == 202  # 201 shared out evenly: one image twice
    assert summary["history"][1]["images"] == 22  # validation: each image once, summed over the processes
    assert done.stdout.count("log-loss") == 1 and sorted(p.name for p in out.glob("epoch-*")) == ["epoch-001"]
