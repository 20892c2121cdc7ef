"""A Mamba-like selective state-space scan in pure torch (Gu and Dao 2023), chapter 9.

Per channel d and state index n, with input-dependent step Δ_t > 0, input matrix B_t and output
matrix C_t (the "selection"), and a fixed diagonal A < 0:

    zero-order-hold discretisation  Ā_t = exp(Δ_t A),   B̄_t x_t ≈ Δ_t B_t x_t   (as Mamba's code)
    recurrence                      h_t = Ā_t ⊙ h_{t-1} + B̄_t x_t
    read-out                        y_t = C_t · h_t + D ⊙ x_t

``selective_scan(form='sequential')`` loops over the tokens like Mamba's reference scan (L steps).
``form='parallel'`` is a log-depth (Hillis-Steele) scan: the step ``h ↦ a h + b`` composes as
``(a₂, b₂)∘(a₁, b₁) = (a₂a₁, a₂b₁ + b₂)``, so ⌈log₂ L⌉ rounds, each combining every position with
the one ``2^k`` earlier, give every state. More FLOPs (×log₂ L) but few, large operations.
Shapes: x, Δ (batch, length, d_inner); A (d_inner, d_state); B, C (batch, length, d_state).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import one_of, positive_int, tensor

FORMS = ("sequential", "parallel")


def discretize(delta: torch.Tensor, A: torch.Tensor, B: torch.Tensor, x: torch.Tensor):
    """Ā = exp(ΔA) and B̄x = ΔBx, each (batch, length, d_inner, d_state) (chapter 9)."""
    dA = torch.exp(delta[..., None] * A)
    dBx = (delta * x)[..., None] * B[:, :, None, :]
    return dA, dBx


def _check(x, delta, A, B, C, values: bool = True):
    for name, t, shape in (("x", x, "(batch, length, d_inner)"), ("delta", delta, "(batch, length, d_inner)"),
                           ("A", A, "(d_inner, d_state)"), ("B", B, "(batch, length, d_state)"),
                           ("C", C, "(batch, length, d_state)")):
        tensor(name, t, shape, floating=True)
    tensor("x", x, "(batch, length, d_inner)", rank=3, nonempty=(0, 1, 2))
    if x.dim() != 3 or delta.shape != x.shape:
        raise ValueError(f"x and delta must be (batch, length, d_inner) of the same shape; "
                         f"got x {tuple(x.shape)}, delta {tuple(delta.shape)}")
    b, L, D = x.shape
    if A.dim() != 2 or A.shape[0] != D:
        raise ValueError(f"A must be (d_inner={D}, d_state); got {tuple(A.shape)}")
    for name, t in (("B", B), ("C", C)):
        if t.shape != (b, L, A.shape[1]):
            raise ValueError(f"{name} must be (batch, length, d_state) = {(b, L, A.shape[1])}; "
                             f"got {tuple(t.shape)}")
    if not values:          # the value checks read the tensors back: a host sync on CUDA
        return
    if bool((A >= 0).any()):
        raise ValueError("A must be negative (a decaying state); got a value >= 0")
    if bool((delta <= 0).any()):
        raise ValueError("delta must be > 0 (apply softplus first); got a value <= 0")


def selective_scan(x, delta, A, B, C, D=None, *, form: str = "sequential",
                   return_state: bool = False, check_values: bool = True):
    """Run the selective scan; returns y (batch, length, d_inner) [and the last state] (chapter 9).

    ``check_values=False`` skips the checks ``A < 0`` and ``delta > 0``, which copy a flag from
    the device (a synchronisation on CUDA); timed loops check once outside the clock instead.
    """
    _check(x, delta, A, B, C, values=check_values)
    one_of("form", form, FORMS)
    b, L, Dm = x.shape
    h = x.new_zeros(b, Dm, A.shape[1])
    if form == "sequential":
        dA, dBx = discretize(delta, A, B, x)
        ys = []
        for t in range(L):
            h = torch.addcmul(dBx[:, t], dA[:, t], h)                 # h = Ā h + B̄x
            ys.append(torch.einsum("bdn,bn->bd", h, C[:, t]))
        y = torch.stack(ys, dim=1)
    else:                                                              # Hillis-Steele scan
        a, hs = discretize(delta, A, B, x)
        shift = 1
        while shift < L:      # after this step hs[t] sums the last 2·shift terms ending at t
            hs = torch.cat([hs[:, :shift], torch.addcmul(hs[:, shift:], a[:, shift:], hs[:, :-shift])], 1)
            a = torch.cat([a[:, :shift], a[:, shift:] * a[:, :-shift]], 1)
            shift *= 2
        y = torch.einsum("bldn,bln->bld", hs, C)
        h = hs[:, -1]
    if D is not None:
        y = y + x * D
    return (y, h) if return_state else y


class SelectiveSSM(nn.Module):
    """The S6 layer of Mamba without its convolution and gate: Δ, B, C are computed from x.

    ``Δ = softplus(W_Δ (W_r x) + b)`` (low rank ``dt_rank = ceil(d_model/16)``), ``B = W_B x``,
    ``C = W_C x``, ``A = -exp(A_log)`` initialised to -(1, 2, ..., d_state) (S4D-real), as in the
    reference implementation. Used in chapter 9.
    """

    def __init__(self, d_model: int, d_state: int = 16, *, form: str = "sequential"):
        super().__init__()
        positive_int("d_model", d_model)
        positive_int("d_state", d_state)
        self.form = one_of("form", form, FORMS)
        self.dt_rank = math.ceil(d_model / 16)
        self.x_proj = nn.Linear(d_model, self.dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(self.dt_rank, d_model)
        self.A_log = nn.Parameter(torch.log(torch.arange(1, d_state + 1).float()).repeat(d_model, 1))
        self.D = nn.Parameter(torch.ones(d_model))
        self.d_state = d_state

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dt, B, C = self.x_proj(x).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        delta = F.softplus(self.dt_proj(dt))
        return selective_scan(x, delta, -torch.exp(self.A_log), B, C, self.D, form=self.form)
