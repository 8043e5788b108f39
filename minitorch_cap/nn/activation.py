"""Elementwise activations with hand-written backward: ReLU and GELU (exact erf form), ``erf`` and ``erfc``.

Shapes: any; the output has the shape and dtype of the input.
"""

from __future__ import annotations

import math

import numpy as np

from .checks import float_array
from .module import Module

# --------------------------------------------------------------------------- erf
# Sun Microsystems' fdlibm 5.3, s_erf.c (the algorithm of glibc's, musl's and the BSDs' erf):
# piecewise rational approximations on [0, 0.84375), [0.84375, 1.25), [1.25, 1/0.35),
# [1/0.35, 6) and erf = sign(x) beyond 6, with the published coefficients below; the
# routine is accurate to about one unit in the last place of a double. Vectorised here
# (each interval evaluated only on its own elements).
_ERX = 8.45062911510467529297e-01
_PP = (1.28379167095512558561e-01, -3.25042107247001499370e-01, -2.84817495755985104766e-02,
       -5.77027029648944159157e-03, -2.37630166566501626084e-05)
_QQ = (1.0, 3.97917223959155352819e-01, 6.50222499887672944485e-02, 5.08130628187576562776e-03,
       1.32494738004321644526e-04, -3.96022827877536812320e-06)
_PA = (-2.36211856075265944077e-03, 4.14856118683748331666e-01, -3.72207876035701323847e-01,
       3.18346619901161753674e-01, -1.10894694282396677476e-01, 3.54783043256182359371e-02,
       -2.16637559486879084300e-03)
_QA = (1.0, 1.06420880400844228286e-01, 5.40397917702171048937e-01, 7.18286544141962662868e-02,
       1.26171219808761642112e-01, 1.36370839120290507362e-02, 1.19844998467991074170e-02)
_RA = (-9.86494403484714822705e-03, -6.93858572707181764372e-01, -1.05586262253232909814e+01,
       -6.23753324503260060396e+01, -1.62396669462573470355e+02, -1.84605092906711035994e+02,
       -8.12874355063065934246e+01, -9.81432934416914548592e+00)
_SA = (1.0, 1.96512716674392571292e+01, 1.37657754143519042600e+02, 4.34565877475229228821e+02,
       6.45387271733267880336e+02, 4.29008140027567833386e+02, 1.08635005541779435134e+02,
       6.57024977031928170135e+00, -6.04244152148580987438e-02)
_RB = (-9.86494292470009928597e-03, -7.99283237680523006574e-01, -1.77579549177547519889e+01,
       -1.60636384855821916062e+02, -6.37566443368389627722e+02, -1.02509513161107724954e+03,
       -4.83519191608651397019e+02)
_SB = (1.0, 3.03380607434824582924e+01, 3.25792512996573918826e+02, 1.53672958608443695994e+03,
       3.19985821950859553908e+03, 2.55305040643316442583e+03, 4.74528541206955367215e+02,
       -2.24409524465858183362e+01)
_ONE_OVER_035 = 2.8571434020996094  # the double whose high word is fdlibm's 0x4006DB6E


def _poly(z: np.ndarray, coefficients: tuple) -> np.ndarray:
    """Horner: ``c0 + z*(c1 + z*(c2 + ...))`` in the dtype of ``z``."""
    out = np.full_like(z, coefficients[-1])
    for c in coefficients[-2::-1]:
        out *= z
        out += z.dtype.type(c)
    return out


def erf(x) -> np.ndarray:
    """The error function, elementwise (any shape; NaN stays NaN).

    Source: fdlibm 5.3 ``s_erf.c`` (Sun Microsystems, 1993), the algorithm behind the C
    library's ``erf``. A float32 input is computed in float32 (as fdlibm's ``s_erff.c``
    does, with the high-word split on 12 mantissa bits) to about 2e-7; anything else in
    float64, agreeing with ``math.erf`` to about 1e-16 (tested). numpy has no erf, and
    this keeps the library free of scipy.
    """
    return _fdlibm_erf(x, complement=False)


def erfc(x) -> np.ndarray:
    """The complementary error function ``1 - erf(x)``, elementwise, without cancellation.

    Source: fdlibm 5.3 ``s_erf.c``'s ``erfc`` (same intervals and coefficients as :func:`erf`):
    for ``x >= 1.25`` it is ``exp(-x^2 - 0.5625 + R/S) / x``, never ``1 - erf(x)``, so it keeps
    its relative precision far into the tail (``erfc(10) = 2.1e-45`` as a double, where
    ``1 - erf`` is exactly 0 from ``x = 6``) until it underflows (about 9.2 in float32, 27 in
    float64). dtypes as :func:`erf`; agrees with ``math.erfc`` to a few units in the last place.
    """
    return _fdlibm_erf(x, complement=True)


def _fdlibm_erf(x, complement: bool) -> np.ndarray:
    """fdlibm's ``erf`` (``complement=False``) or ``erfc`` (``True``), interval by interval."""
    x = np.asarray(x)
    single = x.dtype == np.float32
    dtype = np.float32 if single else np.float64
    x = x.astype(dtype, copy=False)
    flat = x.reshape(-1)
    out = np.full_like(flat, np.nan)
    ax = np.abs(flat)
    one = dtype(1.0)

    k = np.flatnonzero(ax < 0.84375)                       # erf(x) = x + x * R(x^2)/S(x^2)
    if k.size:
        xs = flat[k]
        z = xs * xs
        y = _poly(z, _PP)
        y /= _poly(z, _QQ)
        y *= xs
        y += xs
        out[k] = np.subtract(one, y, out=y) if complement else y   # erfc in (0.23, 1.77) here: no cancellation
    k = np.flatnonzero((ax >= 0.84375) & (ax < 1.25))      # erf(x) = erx + P(|x|-1)/Q(|x|-1)
    if k.size:
        s = ax[k] - one
        ratio = _poly(s, _PA) / _poly(s, _QA)
        if not complement:
            out[k] = np.copysign(_ERX + ratio, flat[k])
        else:                                              # (1 - erx) - P/Q, or (1 + erx) + P/Q below 0
            out[k] = np.where(flat[k] < 0, dtype(1.0 + _ERX) + ratio, dtype(1.0 - _ERX) - ratio)
    tail = 28.0 if complement else 6.0                     # erfc(x) = exp(-x^2 - 0.5625 + R/S) / x
    k = np.flatnonzero((ax >= 1.25) & (ax < tail))
    if k.size:
        a = ax[k]
        s = one / (a * a)
        low = a < _ONE_OVER_035
        ratio = np.where(low, _poly(s, _RA) / _poly(s, _SA), _poly(s, _RB) / _poly(s, _SB))
        if single:   # a with its low 12 mantissa bits zeroed: z*z is exact
            z = (a.view(np.uint32) & np.uint32(0xFFFFF000)).view(np.float32)
        else:        # a with its low 32-bit word zeroed
            z = (a.view(np.uint64) & np.uint64(0xFFFFFFFF00000000)).view(np.float64)
        with np.errstate(under="ignore"):
            r = np.exp(-z * z - dtype(0.5625)) * np.exp((z - a) * (z + a) + ratio) / a
        if not complement:
            out[k] = np.copysign(one - r, flat[k])
        else:                                              # erfc(-x) = 2 - erfc(x)
            out[k] = np.where(flat[k] < 0, dtype(2.0) - r, r)
    k = np.flatnonzero(ax >= tail)                         # erf = sign(x), erfc = 0 or 2, to the dtype's precision
    if k.size:
        out[k] = np.copysign(one, flat[k]) if not complement else np.where(flat[k] > 0, dtype(0.0), dtype(2.0))
    return out.reshape(x.shape)


# --------------------------------------------------------------------------- modules
class ReLU(Module):
    """``x -> max(x, 0)`` elementwise; the gradient at 0 is 0 (as PyTorch).

    ``backward(dout)`` returns ``dx`` of the input's shape.
    """

    def forward(self, x):
        x = float_array("ReLU.forward", "x", x, self.dtype)
        positive = x > 0
        self._save_for_backward(positive=positive)
        return x * positive

    def backward(self, dout):
        positive = self._saved()["positive"]
        dout = float_array("ReLU.backward", "dout", dout, self.dtype, positive.shape)
        return dout * positive

    def extra_repr(self) -> str:
        return f"dtype={self.dtype.name}"


_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


class GELU(Module):
    """``x -> x * Phi(x)``, Phi the standard normal CDF: the exact form of ``torch.nn.GELU()``
    (Hendrycks and Gimpel 2016), not the tanh approximation.

    ``Phi(x) = erfc(-x / sqrt(2)) / 2`` (:func:`erfc`, in the module's dtype), equal to
    ``(1 + erf(x / sqrt(2))) / 2`` but without its cancellation for negative x: the negative
    tail keeps its relative precision (measured against ``math.erfc``: float32 within about
    ``(1 + x^2) * 6e-8``, 1e-5 at x = -13 where float32 runs out of range; float64 within
    ``(1 + x^2) * 2.5e-16``; the rounding of ``x / sqrt(2)`` dominates) instead of losing it below
    x = -5 and reading 0 from x = -6 (float32), as the erf form, and PyTorch 2.13's GELU, do.
    ``backward(dout)`` returns ``dout * (Phi(x) + x * exp(-x^2/2) / sqrt(2 pi))``.
    """

    def forward(self, x):
        x = float_array("GELU.forward", "x", x, self.dtype)
        cdf = self._cdf(x)
        self._save_for_backward(x=x, cdf=cdf)
        return x * cdf

    def backward(self, dout):
        cache = self._saved()
        x, cdf = cache["x"], cache["cdf"]
        dout = float_array("GELU.backward", "dout", dout, self.dtype, x.shape)
        pdf = np.exp(-0.5 * x * x)
        pdf *= self.dtype.type(_INV_SQRT_2PI)
        pdf *= x
        pdf += cdf
        pdf *= dout
        return pdf

    def _cdf(self, x: np.ndarray) -> np.ndarray:
        cdf = erfc(x * self.dtype.type(-_SQRT_HALF))
        cdf *= self.dtype.type(0.5)
        return cdf

    def extra_repr(self) -> str:
        return f"dtype={self.dtype.name}"


ACTIVATIONS = {"relu": ReLU, "gelu": GELU}
