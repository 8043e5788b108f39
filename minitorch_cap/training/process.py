"""The process a run runs in: SIGTERM handled like Ctrl-C, and numpy's BLAS threads.

SIGTERM: what ``timeout``, Docker, Slurm and ``kill`` send ends a run the same clean way as Ctrl-C.

Python turns SIGINT (Ctrl-C) into ``KeyboardInterrupt``, so a run stops between two
statements, its ``finally`` blocks run (the run folder's lock is released, an overwritten
run's files restored if no checkpoint was written) and the caller can say how to resume.
SIGTERM, by default, kills the process on the spot with none of that. Inside
``sigterm_as_interrupt()`` it raises ``KeyboardInterrupt`` too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
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


@contextlib.contextmanager
def blas_threads(n: int):
    """Limit numpy's BLAS to ``n`` threads inside the block (threadpoolctl); more than this machine's
    cores is reduced to them, with a note on stderr. The command line runs in it (``--threads``, 1 by
    default), and so do the examples.

    Measured here (2 cores, other jobs running): an LSTM training step with H=128 takes about 20 ms
    with one BLAS thread and 150-480 ms with two, which spin against the other processes; without
    load one thread is about as fast.
    """
    from threadpoolctl import threadpool_limits
    cores = os.cpu_count() or 1
    if int(n) > cores:
        print(f"minitorch_cap: note: {n} BLAS threads is more than this machine's {cores} cores; using {cores}",
              file=sys.stderr)
    with threadpool_limits(limits=min(int(n), cores), user_api="blas"):
        yield

