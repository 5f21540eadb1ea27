"""A dataset job on its own copy of the model: it waits (cancellably) for the per-image job holding the model,
then works on a copy and lets the compute worker go on; a model too large to copy is used itself with the lock
held until the job ends."""

import threading

import torch
from torch import nn

from cnnviz.core import wrap
from cnnviz.core.progress import Step
from cnnviz.gui.runtime import model_sharing
from cnnviz.gui.runtime.model_sharing import SHARED, WAITING, on_own_copy


def tiny_model():
    return wrap(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten()), input_size=(5, 5), mean=(0.0,), std=(1.0,))


def job(model, lock, seen):
    """A generator job that records the model it got and whether the lock was free while it ran."""
    seen.append(model)
    free = lock.acquire(blocking=False)
    if free:
        lock.release()
    yield Step(1, 2, "half")
    return free


def drain(steps):
    items = []
    try:
        while True:
            items.append(next(steps))
    except StopIteration as stop:
        return items, stop.value


def test_the_job_runs_on_a_copy_with_the_lock_free():
    model, lock, seen = tiny_model(), threading.Lock(), []
    items, free = drain(on_own_copy(lock, job, model, lock, seen))
    assert items == [Step(1, 2, "half")] and free is True
    assert seen[0] is not model and seen[0].module is not model.module
    x = torch.randn(1, 1, 5, 5)
    assert torch.equal(seen[0].module(x), model.module(x))
    assert not lock.locked()


def test_a_plain_function_returns_its_value():
    model, lock = tiny_model(), threading.Lock()
    items, value = drain(on_own_copy(lock, lambda m, k: (type(m).__name__, k), model, 3))
    assert items == [] and value == ("LoadedModel", 3)


def test_it_waits_for_the_lock_and_can_be_closed_meanwhile():
    model, lock, seen = tiny_model(), threading.Lock(), []
    lock.acquire()
    try:
        steps = on_own_copy(lock, job, model, lock, seen)
        assert next(steps) == Step(0, 0, None, WAITING)
        assert next(steps) == Step(0, 0, None, WAITING)
        steps.close()
    finally:
        lock.release()
    assert seen == [] and not lock.locked()


def test_a_model_too_large_to_copy_is_used_itself_with_the_lock_held(monkeypatch):
    model, lock, seen = tiny_model(), threading.Lock(), []
    monkeypatch.setattr(model_sharing, "copy_fits", lambda m: False)
    steps = on_own_copy(lock, job, model, lock, seen)
    assert next(steps) == Step(0, 0, None, SHARED)
    assert next(steps) == Step(1, 2, "half")
    assert lock.locked()
    items, free = drain(steps)
    assert items == [] and free is False and seen == [model]
    assert not lock.locked()


def test_a_failing_job_releases_the_lock(monkeypatch):
    model, lock = tiny_model(), threading.Lock()
    monkeypatch.setattr(model_sharing, "copy_fits", lambda m: False)

    def fails(m):
        raise ValueError("bad")

    steps = on_own_copy(lock, fails, model)
    assert next(steps).message == SHARED
    try:
        next(steps)
    except ValueError:
        pass
    assert not lock.locked()
