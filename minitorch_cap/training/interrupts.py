"""SIGTERM handled like Ctrl-C: what ``timeout``, Docker, Slurm and ``kill`` send ends a run the same clean way.

Python turns SIGINT (Ctrl-C) into ``KeyboardInterrupt``, so a run stops between two
statements, its ``finally`` blocks run (the run folder's lock is released, an overwritten
run's files restored if no checkpoint was written) and the caller can say how to resume.
SIGTERM, by default, kills the process on the spot with none of that. Inside
``sigterm_as_interrupt()`` it raises ``KeyboardInterrupt`` too.
"""

from __future__ import annotations

import contextlib
import signal
import threading


class Terminated(KeyboardInterrupt):
    """A ``KeyboardInterrupt`` raised by SIGTERM (``except KeyboardInterrupt`` catches it)."""


def _raise_terminated(signum, frame):
    raise Terminated("terminated by SIGTERM")


@contextlib.contextmanager
def sigterm_as_interrupt():
    """Within the block, SIGTERM raises ``Terminated`` (a ``KeyboardInterrupt``), as Ctrl-C does.

    The previous handler is restored on exit. Outside the main thread (where Python cannot
    install signal handlers) the block runs unchanged.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
