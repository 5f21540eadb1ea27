"""Running code from a user's model file (its import, ``build()``, unpickling, the first forward pass)
so that whatever it raises, even ``SystemExit`` or ``KeyboardInterrupt``, becomes a ModelLoadError.

Only a real interrupt of the app is let through: a Ctrl+C signal, which Python delivers to the main
thread alone. On another thread every ``KeyboardInterrupt`` was raised by the user's code; on the main
thread a SIGINT handler installed meanwhile tells a signal from a ``raise KeyboardInterrupt``.
"""

import signal
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from cnnviz.core.model.zoo import ModelLoadError


@contextmanager
def user_code(what: str, hint: str = "") -> Iterator[None]:
    """Run the ``with`` body as user code: any exception but a ModelLoadError or a real interrupt is
    raised again as a ModelLoadError ``"{what} failed: {error}. {hint}"``."""
    with _signal_watch() as signalled:
        try:
            yield
        except ModelLoadError:
            raise
        except KeyboardInterrupt as error:
            if signalled:
                raise
            raise ModelLoadError(f"{what} failed: the code raised KeyboardInterrupt. {hint}".strip()) from error
        except SystemExit as error:
            raise ModelLoadError(
                f"{what} failed: the code called sys.exit({error.code!r}); a model file must not exit. {hint}"
                .strip()) from error
        except BaseException as error:
            detail = "".join(traceback.format_exception_only(type(error), error)).strip()
            raise ModelLoadError(f"{what} failed: {detail}. {hint}".strip()) from error


@contextmanager
def _signal_watch() -> Iterator[list[bool]]:
    """A list that becomes truthy when SIGINT arrives during the ``with`` body (on the main thread,
    where a Python handler is set: that handler still runs, and is put back after)."""
    signalled: list[bool] = []
    previous = signal.getsignal(signal.SIGINT) if threading.current_thread() is threading.main_thread() else None
    if not callable(previous):  # another thread, or SIGINT ignored or fatal: no signal raises here
        yield signalled
        return

    def record(number: int, frame: FrameType | None) -> Any:
        signalled.append(True)
        return previous(number, frame)

    signal.signal(signal.SIGINT, record)
    try:
        yield signalled
    finally:
        signal.signal(signal.SIGINT, previous)
