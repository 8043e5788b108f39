"""The MPI side: finding the world, and collectives that never hang.

mpi4py is imported lazily (only when an MPI world larger than one process is found or a
communicator is wrapped), so ``minitorch_cap`` imports and trains without it.

Fault handling (the design, see also ``minitorch_cap/distributed/__init__.py``):

* Every collective is non-blocking (``Iallreduce``, ``Ibcast``, ``Iallgather``) and waited
  for in a Python loop that also tests a **failure notice**: a receive posted once, on a
  private duplicate of the communicator, for a short message any rank may send. Waiting in
  Python also lets Ctrl-C (``KeyboardInterrupt``) through at once, which a blocking MPI call
  would hold back until the collective completes.
* A rank that raises inside ``Trainer.train`` sends the notice (its exception and traceback,
  or "interrupted" for Ctrl-C) to every other rank before its exception propagates. The
  others, in their current or next collective, raise :class:`RankFailed` naming that rank
  and its error (or ``KeyboardInterrupt`` for Ctrl-C), so every rank unwinds normally and the
  run ends within milliseconds; nothing is left half-written because checkpoints are
  written atomically by rank 0 alone.
* A rank that dies (killed, segfault) is seen by ``mpiexec`` (MPICH's Hydra and Open MPI's
  launcher both kill the remaining processes within a second of an abnormal exit).
* Backstop: a collective that waits longer than ``timeout`` seconds (default 1800, or the
  environment variable ``MINITORCH_CAP_MPI_TIMEOUT``) prints which collective and rank
  waited, then calls ``MPI_Abort``: a stuck rank (an endless loop, a lost network) ends the
  job in bounded time instead of hanging it.
* An exception that escapes a script on any rank, once a :class:`Communicator` exists,
  prints its traceback, sends the notice if none was sent, and arms a watchdog that ends the
  process if the others do not reach ``MPI_Finalize`` within ``EXIT_GRACE`` seconds (MPI_Finalize
  waits for every rank, so a rank that stopped alone would otherwise wait forever).
"""

from __future__ import annotations

import atexit
import ctypes
import faulthandler
import json
import os
import sys
import time
import traceback
from typing import Any

import numpy as np

#: Environment variables through which launchers announce the world size:
#: MPICH/Hydra and Intel MPI (PMI_SIZE, MPI_LOCALNRANKS), Open MPI, PMIx-based launchers.
SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS", "MV2_COMM_WORLD_SIZE")
TIMEOUT_VARIABLE = "MINITORCH_CAP_MPI_TIMEOUT"
DEFAULT_TIMEOUT = 1800.0
_NOTICE_TAG = 31_337
_NOTICE_BYTES = 16_384
INSTALL_HINT = "pip install 'minitorch-cap[mpi]' (that is: pip install mpi4py mpich)"


class RankFailed(RuntimeError):
    """Another rank of a data-parallel run raised (or timed out); this rank stopped with it.

    Attributes: ``rank`` (the rank that failed), ``error`` (its exception as text),
    ``remote_traceback`` (its traceback as text, possibly truncated).
    """

    def __init__(self, message: str, rank: int, error: str, remote_traceback: str = ""):
        super().__init__(message)
        self.rank, self.error, self.remote_traceback = rank, error, remote_traceback


def mpi():
    """The ``mpi4py.MPI`` module, or an ``ImportError`` saying how to install it."""
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise ImportError(f"minitorch_cap.distributed needs mpi4py and an MPI library: {INSTALL_HINT} "
                          f"({exc})") from None
    return MPI


def launched_size(environ=None) -> int:
    """The number of processes a launcher (``mpiexec``, ``srun --mpi``) says this world has; 1 if none."""
    environ = os.environ if environ is None else environ
    for name in SIZE_VARIABLES:
        value = environ.get(name)
        if value:
            try:
                return max(int(value), 1)
            except ValueError:
                continue
    return 1


def world():
    """``MPI.COMM_WORLD`` when this process runs under an MPI launcher with more than one rank, else ``None``.

    The launcher's environment variables (``SIZE_VARIABLES``) are read first, so a plain
    ``python`` or ``minitorch-cap`` run never imports mpi4py. Under ``mpiexec -n K`` (K > 1)
    without mpi4py: an ``ImportError`` saying how to install it (training K independent
    copies silently would be wrong). Call it first thing, on every rank: it also sets up the
    failure notices (:func:`communicator`), so that a rank failing even before training
    (loading data, say) stops the others.
    """
    if launched_size() <= 1:
        return None
    MPI = mpi()
    comm = MPI.COMM_WORLD
    if comm.Get_size() == 1:
        return None
    communicator(comm)
    return comm


_COMMUNICATORS: dict = {}


def communicator(comm, timeout: float | None = None) -> "Communicator":
    """The :class:`Communicator` of mpi4py communicator ``comm``, created once (collectively) and reused."""
    MPI = mpi()
    key = comm.py2f() if isinstance(comm, MPI.Comm) else id(comm)
    found = _COMMUNICATORS.get(key)
    if found is None:
        found = _COMMUNICATORS[key] = Communicator(comm, timeout)
    elif timeout is not None:
        found.timeout = float(timeout)
    return found


def only_root_prints(comm) -> None:
    """On ranks other than 0 of ``comm``, send ``sys.stdout`` and ``sys.stderr`` to the null device.

    Rank 0 reports for everyone: a failing rank's error and traceback reach it in the failure
    notice (see the module docstring); the timeout and abort messages go to the original
    stderr (``sys.__stderr__``). ``comm=None``: nothing to do.
    """
    if comm is None or comm.Get_rank() == 0:
        return
    null = open(os.devnull, "w")
    sys.stdout = sys.stderr = null


def default_timeout() -> float:
    value = os.environ.get(TIMEOUT_VARIABLE)
    if value is None:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise ValueError(f"minitorch_cap.distributed: {TIMEOUT_VARIABLE} must be a positive number of seconds, "
                         f"got {value!r}")
    return seconds


class Communicator:
    """A communicator wrapper whose collectives never hang (see the module docstring).

    ``Communicator(comm, timeout=None)``: ``comm`` an mpi4py communicator (``MPI.COMM_WORLD``);
    ``timeout`` in seconds (``None``: ``MINITORCH_CAP_MPI_TIMEOUT`` or 1800). Collectives
    work on numpy arrays in place: :meth:`allreduce_` (sum), :meth:`bcast_`, and :meth:`allgather`
    / :meth:`allgather_bytes` / :meth:`sum` / :meth:`bcast_bytes` for small values. Every rank
    must call them in the same order (MPI's rule).
    """

    def __init__(self, comm, timeout: float | None = None):
        MPI = mpi()
        if not isinstance(comm, MPI.Comm):
            raise TypeError(f"minitorch_cap.distributed: comm must be an mpi4py communicator such as "
                            f"MPI.COMM_WORLD, got {type(comm).__name__}")
        self.MPI = MPI
        self.comm = comm.Dup()      # our traffic never mixes with the user's
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.timeout = default_timeout() if timeout is None else float(timeout)
        if not self.timeout > 0:
            raise ValueError(f"minitorch_cap.distributed: timeout must be positive seconds, got {timeout!r}")
        self._notice_buffer = bytearray(_NOTICE_BYTES)
        self._notice = self.comm.Irecv([self._notice_buffer, MPI.BYTE], source=MPI.ANY_SOURCE, tag=_NOTICE_TAG)
        _keep_forever(self._notice_buffer)
        self._failure: BaseException | None = None    # a notice received: every later collective re-raises it
        self._sent: list = []
        self._abandoned: list = []      # (request, buffers) of collectives left by an exception: MPI may
        #                                 still write into those buffers, so they must never be freed
        self.notified = False
        atexit.register(self.close)
        _install_excepthook(self)

    def __repr__(self) -> str:
        return f"Communicator(rank={self.rank}, size={self.size}, timeout={self.timeout:g})"

    # ------------------------------------------------------------------ waiting
    def wait(self, request, what: str) -> None:
        """Wait for ``request``; raise what a failure notice says; abort after ``timeout`` seconds."""
        if self._failure is not None:
            raise self._failure
        status = self.MPI.Status()
        deadline = time.monotonic() + self.timeout
        spins = 0
        while not request.Test():
            if self._notice.Test(status):
                self._failure = self._read_notice(status)
                raise self._failure
            spins += 1
            if spins % 256 == 0:
                if time.monotonic() > deadline:
                    self._timed_out(what)
                if spins > 100_000:         # a long wait (another rank still computing): yield the core
                    time.sleep(0.0001)

    def _read_notice(self, status) -> BaseException:
        raw = bytes(self._notice_buffer[:status.Get_count(self.MPI.BYTE)])
        try:
            notice = json.loads(raw.decode("utf-8", "replace"))
        except ValueError:
            notice = {"rank": status.Get_source(), "kind": "error", "error": "an unreadable failure notice"}
        rank = int(notice.get("rank", status.Get_source()))
        if notice.get("kind") == "interrupt":
            return KeyboardInterrupt(f"rank {rank} of {self.size} was interrupted")
        error = str(notice.get("error", "unknown error"))
        where = notice.get("where")
        message = (f"minitorch_cap.distributed: rank {rank} of {self.size} failed"
                   f"{f' ({where})' if where else ''} with {error}; every rank stopped")
        return RankFailed(message, rank, error, str(notice.get("traceback", "")))

    def _timed_out(self, what: str) -> None:
        message = (f"minitorch_cap.distributed: rank {self.rank} of {self.size} waited {self.timeout:g} s in "
                   f"{what} without all ranks joining (one is stuck or unreachable); aborting the MPI job. "
                   f"Files written before stay loadable (checkpoints are written atomically). The limit is "
                   f"{TIMEOUT_VARIABLE}.")
        print(message, file=sys.__stderr__, flush=True)
        self.comm.Abort(1)

    # ------------------------------------------------------------------ failure notices
    def notify(self, exc: BaseException, where: str | None = None) -> None:
        """Tell every other rank that this one stops because of ``exc`` (once; returns within ~2 s)."""
        if self.notified or self.size == 1 or isinstance(exc, RankFailed) or self._failure is not None:
            return
        self.notified = True
        interrupted = isinstance(exc, KeyboardInterrupt)
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        notice = {"rank": self.rank, "kind": "interrupt" if interrupted else "error",
                  "error": f"{type(exc).__name__}: {exc}"[:1000], "where": where, "traceback": text[-3000:]}
        encoded = json.dumps(notice).encode("utf-8")
        if len(encoded) > _NOTICE_BYTES:        # many multi-byte characters: drop the traceback
            encoded = json.dumps({**notice, "traceback": ""}).encode("utf-8")
        payload = np.frombuffer(encoded, dtype=np.uint8).copy()
        requests = [self.comm.Isend([payload, self.MPI.BYTE], dest=r, tag=_NOTICE_TAG)
                    for r in range(self.size) if r != self.rank]
        self._sent.append(payload)
        _keep_forever(payload, *requests)     # a send to a dead rank may never complete
        deadline = time.monotonic() + 2.0
        while not self.MPI.Request.Testall(requests) and time.monotonic() < deadline:
            time.sleep(0.001)

    def close(self) -> None:
        """Withdraw the pending notice receive (before MPI_Finalize); called at exit."""
        notice, self._notice = self._notice, None
        if notice is None or self.MPI.Is_finalized():
            return
        try:
            if notice != self.MPI.REQUEST_NULL and not notice.Test():
                notice.Cancel()
                notice.Wait()
        except Exception:   # the job is ending anyway
            pass

    # ------------------------------------------------------------------ collectives
    def _complete(self, request, what: str, *buffers: np.ndarray) -> None:
        try:
            self.wait(request, what)
        except BaseException:
            # MPI may still complete this collective (even inside MPI_Finalize): its request and
            # buffers must outlive the interpreter's teardown, so they are kept forever.
            _keep_forever(request, *buffers)
            self._abandoned.append((request, buffers))
            raise

    def allreduce_(self, buffer: np.ndarray, what: str = "allreduce") -> np.ndarray:
        """Sum ``buffer`` (a contiguous array) over all ranks, in place; returns it."""
        self._complete(self.comm.Iallreduce(self.MPI.IN_PLACE, buffer, op=self.MPI.SUM), what, buffer)
        return buffer

    def bcast_(self, buffer: np.ndarray, root: int = 0, what: str = "broadcast") -> np.ndarray:
        """Overwrite ``buffer`` on every rank with rank ``root``'s, in place; returns it."""
        self._complete(self.comm.Ibcast(buffer, root=root), what, buffer)
        return buffer

    def allgather(self, value, dtype=np.int64, what: str = "allgather") -> np.ndarray:
        """One number from each rank -> an array (size,) in rank order."""
        send = np.array([value], dtype=dtype)
        out = np.empty(self.size, dtype=dtype)
        self._complete(self.comm.Iallgather(send, out), what, send, out)
        return out

    def allgather_bytes(self, data: bytes, what: str = "allgather") -> list[bytes]:
        """Every rank's ``data`` (any lengths), in rank order."""
        lengths = self.allgather(len(data), what=what)
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        send = np.frombuffer(bytes(data), dtype=np.uint8).copy()
        out = np.empty(int(lengths.sum()), dtype=np.uint8)
        request = self.comm.Iallgatherv([send, self.MPI.BYTE],
                                        [out, (lengths.tolist(), offsets.tolist()), self.MPI.BYTE])
        self._complete(request, what, send, out)
        return [out[o:o + n].tobytes() for o, n in zip(offsets, lengths)]

    def sum(self, value: float, what: str = "sum") -> float:
        """The float64 sum of one number over all ranks."""
        return float(self.allreduce_(np.array([value], dtype=np.float64), what)[0])

    def bcast_bytes(self, data: bytes | None, root: int = 0, what: str = "broadcast") -> bytes:
        """Rank ``root``'s bytes on every rank (the others pass anything, e.g. ``None``)."""
        length = np.array([len(data) if self.rank == root else 0], dtype=np.int64)
        self.bcast_(length, root, what)
        buffer = (np.frombuffer(data, dtype=np.uint8).copy() if self.rank == root
                  else np.empty(int(length[0]), dtype=np.uint8))
        return self.bcast_(buffer, root, what).tobytes()


def _keep_forever(*objects) -> None:
    """Never free these (buffers MPI may still write or read, and their requests), not even at exit."""
    for obj in objects:
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(obj))


_HOOKED: list[Any] = []
#: Seconds a rank ending with an exception waits for the others in MPI_Finalize before it exits anyway.
EXIT_GRACE = 30.0


def _install_excepthook(communicator: Communicator) -> None:
    """An exception escaping the script: tell the other ranks, and never wait for them forever.

    The traceback is printed as usual; the other ranks get the failure notice (unless this rank
    already sent one or is itself stopping because of one); then a watchdog (``faulthandler``,
    which runs even while MPI_Finalize blocks) ends this process if the others have not joined
    MPI_Finalize within ``EXIT_GRACE`` seconds, and the launcher then ends them.
    """
    if _HOOKED or communicator.size == 1:
        return
    previous = sys.excepthook

    def hook(kind, value, tb):
        previous(kind, value, tb)
        try:
            communicator.notify(value, where="uncaught")
        finally:
            faulthandler.dump_traceback_later(EXIT_GRACE, exit=True, file=sys.__stderr__)

    sys.excepthook = hook
    _HOOKED.append(hook)
