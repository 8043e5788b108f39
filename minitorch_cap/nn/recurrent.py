"""What RNN, LSTM and GRU share: weights, input checks, the packed layout, the input projection and
the final products.

Shapes: N batch, T time steps, D input size, H hidden size, G number of gate blocks
(RNN 1, GRU 3, LSTM 4), P the (row, step) pairs that run (the sum of the lengths).

Every cell stores its weights as ``Wx (D, G*H)``, ``Wh (H, G*H)``, ``b (G*H,)`` with the
gate blocks side by side in the order of the subclass's ``GATES``.

Length-aware recurrence (``forward(..., lengths=)``): row n runs steps ``0..lengths[n]-1``
only; nothing after a caption's last target reaches the loss, so the padding is not computed.
Internally the rows are sorted by length once per forward (longest first), so step t runs on
the first ``k_t`` rows, and the per-step arrays of all steps are stacked into **packed**
``(P, ...)`` arrays, step t at rows ``off[t]:off[t+1]`` (PyTorch's ``PackedSequence`` layout,
:class:`Packing`). Every per-step slice is one contiguous block; inputs and outputs keep the
public ``(N, T, ...)`` layout, with zeros where a row did not run.

The efficient pattern (Element-Research ``SeqLSTM``), over the P pairs only:

* forward projects all pairs at once, ``A = X Wx + b`` with ``X (P, D)``, then runs only
  ``h_{t-1} Wh`` inside the loop;
* backward gathers the pre-activation gradients of every pair into ``dA (P, G*H)`` and forms
  ``dWx``, ``db``, ``dWh`` and ``dx`` with one product each.

Hidden (and cell) states live in one ``(N + P, H)`` array: rows ``0..N-1`` hold the initial
state (sorted rows), then each packed pair's new state; :meth:`Packing.state` and
:meth:`Packing.previous` give a step's block and the block it reads.
"""

from __future__ import annotations

import numpy as np

from .checks import float_input, int_option, lengths_input
from .init import as_generator, scaled_randn
from .module import Module
from .parameter import Parameter


def check_lengths(owner: str, lengths, N: int, T: int) -> np.ndarray:
    """:func:`~minitorch_cap.nn.checks.lengths_input`, with ``None`` meaning T for every row.

    Floats and booleans raise ``TypeError``, a wrong shape or a value outside ``[0, T]``
    ``ValueError``, naming ``owner``.
    """
    if lengths is None:
        return np.full(N, T, dtype=np.int64)
    return lengths_input(owner, "lengths", lengths, N, T)


class Packing:
    """Rows sorted by length (longest first) and the packed layout of the (row, step) pairs that run.

    ``lengths (N,)`` (checked by :func:`check_lengths`), ``T`` the padded length.
    ``order (N,)``: sorted row -> original row; ``k[t]``: rows that run step t (the first
    ``k[t]`` sorted rows), for t < ``steps`` (the longest length); pair (t, j) is packed row
    ``off[t] + j`` of a ``(P, ...)`` array; ``flat (P,)`` its position ``order[j] * T + t``
    in an (N, T) array; ``prev_rows (P,)`` the row of a state array (N + P, ...) that it
    reads (see :meth:`state`); ``lengths`` the sorted lengths. An input without lengths is
    packed the same way (every row runs T steps: the time-major layout).
    """

    def __init__(self, lengths: np.ndarray, T: int):
        N = lengths.size
        self.N, self.T = N, T
        self.order = np.argsort(-lengths, kind="stable")
        self.lengths = lengths[self.order]
        self.steps = int(self.lengths[0]) if N else 0
        self.k = [int(n) for n in np.searchsorted(-self.lengths, -np.arange(self.steps), side="left")]
        self.off = np.concatenate([[0], np.cumsum(self.k, dtype=np.int64)]).astype(np.int64)
        self.P = int(self.off[-1])
        self.step_of = step_of = np.repeat(np.arange(self.steps), self.k)    # (P,) t of each pair
        self.row_of = row_of = np.arange(self.P) - self.off[step_of]         # (P,) sorted row j
        self.flat = self.order[row_of] * T + step_of
        # Row of the state array (N + P, H) that each pair reads: the initial state at t = 0,
        # else the same sorted row in the previous step's block.
        self.prev_rows = np.where(step_of == 0, row_of, N + self.off[np.maximum(step_of - 1, 0)] + row_of)

    def slice(self, t: int) -> slice:
        """Step t's rows in a packed (P, ...) array."""
        return slice(int(self.off[t]), int(self.off[t + 1]))

    def state(self, t: int) -> slice:
        """Step t's new states in a state array (N + P, ...); t = -1: the initial states (N rows)."""
        if t < 0:
            return slice(0, self.N)
        return slice(self.N + int(self.off[t]), self.N + int(self.off[t + 1]))

    def previous(self, t: int) -> slice:
        """The states step t reads in a state array (N + P, ...): the first k[t] rows of step t-1's."""
        start = self.state(t - 1).start
        return slice(start, start + self.k[t])

    def last(self, states: np.ndarray) -> np.ndarray:
        """Each row's state after its last step, from a state array (N + P, ...) -> (N, ...) in the
        original row order (a row of length 0: its initial state)."""
        j = np.arange(self.N)
        rows = np.where(self.lengths == 0, j, self.N + self.off[np.maximum(self.lengths - 1, 0)] + j)
        return self.unsort(states[rows])

    def sort(self, array: np.ndarray) -> np.ndarray:
        """(N, ...) in the original row order -> sorted by length (a copy)."""
        return array[self.order]

    def unsort(self, array: np.ndarray) -> np.ndarray:
        """(N, ...) sorted by length -> the original row order (a copy)."""
        out = np.empty_like(array)
        out[self.order] = array
        return out

    def pack(self, array: np.ndarray) -> np.ndarray:
        """(N, T, ...) -> the packed (P, ...) copy."""
        N, T = array.shape[:2]
        return array.reshape((N * T,) + array.shape[2:])[self.flat]

    def padded(self, packed: np.ndarray) -> np.ndarray:
        """(P, ...) -> time-major (steps, N, ...) in sorted row order, zeros where a row did not run."""
        out = np.zeros((self.steps, self.N) + packed.shape[1:], dtype=packed.dtype)
        out[self.step_of, self.row_of] = packed
        return out

    def unpack(self, packed: np.ndarray) -> np.ndarray:
        """(P, ...) -> (N, T, ...) in the original row order, zeros where a row did not run."""
        out = np.zeros((self.N * self.T,) + packed.shape[1:], dtype=packed.dtype)
        out[self.flat] = packed
        return out.reshape((self.N, self.T) + packed.shape[1:])


class Recurrent(Module):
    """Base class of the sequence modules ``x (N, T, D), h0 (N, H) -> h (N, T, H)``.

    ``input_dim`` and ``hidden_dim`` must be integers >= 1 (``ValueError`` naming the
    module otherwise). A batch of N = 0 sequences works (forward, backward and ``step``, as
    in beam search once every caption has ended); T = 0 is refused by name.
    """

    GATES: tuple[str, ...] = ()

    def __init__(self, input_dim: int, hidden_dim: int, dtype=np.float32, rng=None):
        super().__init__(dtype)
        owner = type(self).__name__
        self.input_dim = int_option(owner, "input_dim", input_dim)
        self.hidden_dim = int_option(owner, "hidden_dim", hidden_dim)
        D, H, G = self.input_dim, self.hidden_dim, len(self.GATES)
        rng = as_generator(rng, owner)
        self.Wx = Parameter(scaled_randn(rng, (D, G * H), np.sqrt(D)), self.dtype)
        self.Wh = Parameter(scaled_randn(rng, (H, G * H), np.sqrt(H)), self.dtype)
        self.b = Parameter(np.zeros(G * H), self.dtype)

    # ------------------------------------------------------------------ checks
    def _check_sequence(self, owner: str, x, h0, lengths=None) -> tuple[np.ndarray, np.ndarray, Packing]:
        """-> (x (N, T, D), h0 (N, H), the :class:`Packing` of ``lengths``)."""
        x = float_input(owner, "x", x, self.dtype, N=None, T=None, D=self.input_dim)
        h0 = float_input(owner, "h0", h0, self.dtype, N=x.shape[0], H=self.hidden_dim)
        N, T = x.shape[:2]
        if T == 0:
            raise ValueError(f"{owner}: x has no time steps (T=0)")
        return x, h0, Packing(check_lengths(owner, lengths, N, T), T)

    def _check_step(self, owner: str, x, prev_h) -> tuple[np.ndarray, np.ndarray]:
        x = float_input(owner, "x", x, self.dtype, N=None, D=self.input_dim)
        prev_h = float_input(owner, "prev_h", prev_h, self.dtype, N=x.shape[0], H=self.hidden_dim)
        return x, prev_h

    def _check_grad(self, owner: str, dh, packing: Packing) -> np.ndarray:
        """dh (N, T, H) -> the packed copy (P, H), which backward may overwrite; the gradient at
        the steps a row did not run is ignored."""
        dh = float_input(owner, "dh", dh, self.dtype, N=packing.N, T=packing.T, H=self.hidden_dim)
        return packing.pack(dh)

    # ------------------------------------------------------------------ shared maths
    def _project_inputs(self, x: np.ndarray, packing: Packing) -> tuple[np.ndarray, np.ndarray]:
        """x (N, T, D) -> (X (P, D) the packed inputs, A (P, G*H) = X Wx + b)."""
        X = packing.pack(x)
        A = X @ self.Wx.data
        A += self.b.data
        return X, A

    def _step_preactivation(self, x: np.ndarray, prev_h: np.ndarray) -> np.ndarray:
        """One step's ``x Wx + b + prev_h Wh`` (N, G*H)."""
        a = x @ self.Wx.data
        a += self.b.data
        a += self._hidden(prev_h)
        return a

    def _hidden(self, h: np.ndarray) -> np.ndarray:
        """``h (N, H) Wh`` -> a new (N, G*H) array, laid out as :meth:`_hidden_product`."""
        out = np.empty((h.shape[0], self.Wh.data.shape[1]), dtype=self.dtype)
        self._hidden_product(h, out)
        return out

    # The per-step products ``h_{t-1} Wh`` and ``da Wh^T``, on the k_t rows of one step. OpenBLAS
    # (0.3.17 on, AVX-512 kernels) runs a product of at most SMALL_PRODUCT multiply-adds with
    # its small-matrix kernels, which read both operands where they lie; a larger product first
    # copies both into its packed layout: here the 4 MB of Wh (H=512, 4H=2048, float32) at every
    # step, forward and backward (about half of the step's product time at N=25). So a step of
    # few rows goes by blocks of Wh that fit those kernels, all blocks in one numpy call (a
    # stack of views of Wh and of the output, no copy). Measured at H=512, LSTM, float32, one
    # thread, median CPU time per product, packed -> blocks: k=24 rows forward 0.90 -> 0.49 ms,
    # backward 0.71 -> 0.50 ms; k=12: 0.65 -> 0.27 ms and 0.53 -> 0.26 ms. With two threads
    # the blocks run in one thread and about match OpenBLAS's two-thread product at k=24-25
    # (0.49 ms), beat it below, and do not stall when the other core is busy (the two-thread
    # product then took 8-24 ms on this shared machine). Steps of more rows (N=128) keep the
    # packed product, whose packing is then a small part of the work. Other BLAS libraries get
    # the same blocks: correct, at whatever speed their kernels give.
    SMALL_PRODUCT = 100 ** 3
    COLUMN_BLOCK = 64     # forward: h (k, H) @ Wh[:, 64 columns]
    ROW_BLOCK = 16        # backward: da (k, G*H) @ Wh[16 rows].T (a transposed operand: at most 1200 outputs)

    def _by_column_blocks(self, k: int) -> bool:
        """Whether ``h (k, H) Wh`` goes by blocks of COLUMN_BLOCK columns (see SMALL_PRODUCT): one
        row is a vector product, and a product already small or one block too large goes whole."""
        H, GH = self.Wh.data.shape
        return (k >= 2 and k * H * GH > self.SMALL_PRODUCT and k * H * self.COLUMN_BLOCK <= self.SMALL_PRODUCT
                and GH % self.COLUMN_BLOCK == 0)

    def _by_row_blocks(self, k: int) -> bool:
        """Whether ``da (k, G*H) Wh^T`` goes by blocks of ROW_BLOCK rows (see SMALL_PRODUCT)."""
        H, GH = self.Wh.data.shape
        return (k >= 2 and k * self.ROW_BLOCK * GH <= self.SMALL_PRODUCT and k * self.ROW_BLOCK <= 1200
                and H % self.ROW_BLOCK == 0)

    def _hidden_product(self, h: np.ndarray, out: np.ndarray) -> None:
        """``out (k, G*H) = h (k, H) Wh``, ``out`` C-contiguous; by column blocks when
        :meth:`_by_column_blocks`.

        The small-matrix kernels take rows four at a time and run a remainder of 1-3 rows 2-4x
        slower per row (k=24: 0.49 ms, k=25: 0.61 ms, k=28: 0.59 ms), so a remainder goes as the
        last four rows, which computes up to three rows twice (the same values).
        """
        k, H = h.shape
        Wh, width = self.Wh.data, self.COLUMN_BLOCK
        if not self._by_column_blocks(k) or not out.flags.c_contiguous:
            np.matmul(h, Wh, out=out)
            return
        n = Wh.shape[1] // width
        blocks = Wh.reshape(H, n, width).transpose(1, 0, 2)                 # (G*H/64, H, 64) views of Wh
        fours = k - k % 4
        for rows in (slice(0, fours), slice(max(k - 4, 0), k)) if fours < k else (slice(0, k),):
            view = out[rows]
            np.matmul(h[rows], blocks, out=view.reshape(view.shape[0], n, width).transpose(1, 0, 2))

    def _hidden_grad(self, da: np.ndarray, out: np.ndarray) -> None:
        """``out (k, H) = da (k, G*H) Wh^T``: the gradient reaching ``h_{t-1}`` through ``h_{t-1} Wh``;
        ``out`` C-contiguous. By row blocks when :meth:`_by_row_blocks`, else as ``(Wh da^T)^T``:
        for a step of many rows OpenBLAS runs ``Wh @ da.T`` 1.3-2.5x faster than ``da @ Wh.T``,
        without a transposed copy of Wh (which costs as much as three steps).
        """
        k, H = out.shape
        Wh, height = self.Wh.data, self.ROW_BLOCK
        if self._by_row_blocks(k) and out.flags.c_contiguous:
            blocks = Wh.reshape(H // height, height, Wh.shape[1]).transpose(0, 2, 1)   # (H/16, G*H, 16) views
            np.matmul(da, blocks, out=out.reshape(k, H // height, height).transpose(1, 0, 2))
        else:
            out[...] = (Wh @ da.T).T

    def _accumulate_weight_grads(self, packing: Packing, X: np.ndarray, Hs: np.ndarray, dA: np.ndarray,
                                 dAh: np.ndarray | None = None) -> np.ndarray:
        """Add dWx, db, dWh from the gathered pre-activation gradients; return dx (N, T, D).

        X (P, D) the packed inputs, Hs (N + P, H) the state array (each pair's entering hidden
        state is gathered from it), dA (P, G*H) gradient of ``x Wx + b``; dAh (P, G*H) gradient
        of ``h Wh`` when it differs from dA (GRU), else None. dx is 0 where a row did not run.
        """
        dAh = dA if dAh is None else dAh
        Hprev = Hs[packing.prev_rows]                                     # (P, H)
        self.Wx.grad += X.T @ dA
        self.b.grad += dA.sum(axis=0)
        self.Wh.grad += Hprev.T @ dAh
        return packing.unpack(dA @ self.Wx.data.T)

    # ------------------------------------------------------------------ state API
    # One API for every cell (chainer's reset_state/set_state, rnn's getHiddenState): a
    # caller holds an opaque tuple of (N, H) arrays and never branches on the cell type.
    def initial_state(self, h0: np.ndarray) -> tuple[np.ndarray, ...]:
        """The state before the first step, from ``h0 (N, H)``: ``(h0,)`` (the LSTM adds ``c0 = 0``)."""
        return (h0,)

    def step_state(self, x, state: tuple[np.ndarray, ...]) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        """One step without cache: ``x (N, D)``, a state of N rows -> ``(next_h (N, H), next state)``."""
        h = self.step(x, *state)
        return h, (h,)

    def extra_repr(self) -> str:
        return f"input_dim={self.input_dim}, hidden_dim={self.hidden_dim}, dtype={self.dtype.name}"
