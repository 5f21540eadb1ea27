"""Progress reporting and cancellation shared by every long task in the core.

Every long task is a generator that yields :class:`Step` (``done`` of ``total`` units, the ``partial``
result so far, a ``message``) and returns its result; :func:`run_to_end` drives one to its end. A
progress callback has the signature ``progress(done: int, total: int) -> bool | None``. Returning
``False`` asks the task to stop: the task then raises :class:`Cancelled`. Any other return value
(including ``None``) lets it go on.
"""

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, TypeVar

ProgressFn = Callable[[int, int], bool | None]

T = TypeVar("T")


@dataclass(frozen=True)
class Step:
    """One step of a long task: ``done`` of ``total`` units (positions, images, iterations, bytes…),
    the ``partial`` result so far (None where the task has none to show yet; what it is depends on the
    task and is named in its docstring) and a short ``message`` (what it is doing)."""

    done: int
    total: int
    partial: Any = None
    message: str = ""


@dataclass(frozen=True, kw_only=True)
class PartialResult:
    """What every result computed in batches has: ``done`` of ``total`` units (positions, transform
    values…) computed so far, and the model's class names ``classes`` for naming outputs."""

    done: int = 0
    total: int = 0
    classes: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """True once every unit has been computed."""
        return self.done == self.total


class Cancelled(Exception):
    """Raised by a long task when its progress callback returned False."""


def report(progress: ProgressFn | None, done: int, total: int) -> None:
    """Call ``progress(done, total)`` if given; raise :class:`Cancelled` if it returned False."""
    if progress is not None and progress(done, total) is False:
        raise Cancelled(f"cancelled at {done}/{total}")


def run_to_end(steps: Generator[Step, None, T], progress: ProgressFn | None = None) -> T:
    """Drive a generator of :class:`Step`, reporting each step's ``(done, total)`` to ``progress``.

    Returns the generator's return value. Closing the generator on cancel runs its ``finally`` blocks.
    """
    try:
        while True:
            step = next(steps)
            report(progress, step.done, step.total)
    except StopIteration as stop:
        return stop.value
    finally:
        steps.close()
