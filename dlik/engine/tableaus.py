"""Butcher tableaus of the explicit Runge-Kutta methods the batched integrator runs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tableau:
    """An explicit RK method; b_err (b - b_hat) is None for fixed-step methods."""

    name: str
    c: tuple[float, ...]
    a: tuple[tuple[float, ...], ...]
    b: tuple[float, ...]
    b_err: tuple[float, ...] | None = None
    order: int = 1
    fsal: bool = False

    @property
    def adaptive(self) -> bool:
        """Return True when the method carries an embedded error estimate."""
        return self.b_err is not None


def _diff(b: tuple[float, ...], b_hat: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(x - y for x, y in zip(b, b_hat))


_DOPRI5_B = (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0.0)
# Two embedded 4th-order solutions of the Dormand-Prince pair are in use: Dormand & Prince's
# own (Hairer's DOPRI5, SciPy's RK45) and Shampine's (torchdiffeq's "Dormand-Prince-Shampine"
# tableau), whose error estimate b - b_hat is exactly 2/3 of the former's. dopri5 uses
# Shampine's, so an atol/rtol means what it means under torchdiffeq (the paper's protocol);
# with the other estimate the same tolerance takes about (3/2)^(1/5) - 1 = 8.5 % more steps.
_DOPRI5_B_HAT_DP = (5179 / 57600, 0.0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100,
                    1 / 40)
_DOPRI5_B_HAT_SHAMPINE = (1951 / 21600, 0.0, 22642 / 50085, 451 / 720, -12231 / 42400,
                          649 / 6300, 1 / 60)
DOPRI5 = Tableau(
    name="dopri5",
    c=(0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0),
    a=(
        (),
        (1 / 5,),
        (3 / 40, 9 / 40),
        (44 / 45, -56 / 15, 32 / 9),
        (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
        (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
        (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84),
    ),
    b=_DOPRI5_B,
    b_err=_diff(_DOPRI5_B, _DOPRI5_B_HAT_SHAMPINE),
    order=5,
    fsal=True,
)

_BOSH3_B = (2 / 9, 1 / 3, 4 / 9, 0.0)
BOSH3 = Tableau(
    name="bosh3",
    c=(0.0, 1 / 2, 3 / 4, 1.0),
    a=((), (1 / 2,), (0.0, 3 / 4), (2 / 9, 1 / 3, 4 / 9)),
    b=_BOSH3_B,
    b_err=_diff(_BOSH3_B, (7 / 24, 1 / 4, 1 / 3, 1 / 8)),
    order=3,
    fsal=True,
)

EULER = Tableau(name="euler", c=(0.0,), a=((),), b=(1.0,), order=1)
MIDPOINT = Tableau(name="midpoint", c=(0.0, 0.5), a=((), (0.5,)), b=(0.0, 1.0), order=2)
RK4 = Tableau(
    name="rk4",
    c=(0.0, 0.5, 0.5, 1.0),
    a=((), (0.5,), (0.0, 0.5), (0.0, 0.0, 1.0)),
    b=(1 / 6, 1 / 3, 1 / 3, 1 / 6),
    order=4,
)

TABLEAUS: dict[str, Tableau] = {t.name: t for t in (DOPRI5, BOSH3, EULER, MIDPOINT, RK4)}
