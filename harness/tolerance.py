"""Tolerance rules: one place, one table (docs/tolerances.md mirrors RULES).

Error is measured in units of the dtype's epsilon relative to ``max(|ref|, scale)``:

    err_eps = max_i |actual_i - ref_i| / (eps(dtype) * max(|ref_i|, scale_i))

where ``scale`` is the magnitude of what the op summed or multiplied (given by the reference;
0 for a purely elementwise op). A case passes when ``err_eps <= limit``; ``limit`` comes from
a rule of the op class, never from the case. ``headroom = limit / err_eps``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Base allowance in eps for one correctly rounded elementwise result: 0.5 eps for the final
#: rounding, up to ~3.5 eps for vectorised transcendental kernels (SLEEF u35 variants used by
#: torch on CPU), rounded up.
ELEMENTWISE_EPS = 4.0


@dataclass(frozen=True)
class Rule:
    """A named tolerance rule: ``limit`` in eps units, and the text that justifies it."""

    name: str
    limit: float

    def __str__(self) -> str:
        return self.name


#: Every rule function, by its table name, with its one-line justification (docs/tolerances.md
#: must have a row for each; tests/test_tolerance.py checks it).
RULES: dict[str, tuple] = {}


def rule(table_name: str, justification: str):
    """Register a rule function in RULES. A new op class adds a function here, and a row in
    docs/tolerances.md, before any case uses it."""
    def register(fn):
        RULES[table_name] = (fn, justification)
        return fn
    return register


@rule("elementwise", "4 eps relative: 0.5 eps final rounding + up to 3.5 eps for vectorised "
      "transcendental kernels")
def elementwise() -> Rule:
    """Pointwise ops (activations, pointwise losses, pointwise backward)."""
    return Rule("elementwise", ELEMENTWISE_EPS)


@rule("reduction(n)", "4 + 2 sqrt(n) eps relative to sum|terms|: random-walk model of rounding "
      "in a sum, covered at several sigma")
def reduction(n: int) -> Rule:
    """A sum of n terms, relative to the sum of their magnitudes.

    Each addition rounds with relative error <= eps/2 of a partial sum <= sum|terms|; blocked,
    pairwise or sequential orders give errors that behave like a random walk, sqrt(n) eps/2 in
    size, and 2 sqrt(n) covers their tail at several sigma. Worst-case bounds grow as n eps,
    but are never attained with round-to-nearest on unstructured data.
    """
    n = max(int(n), 1)
    return Rule(f"reduction(n={n})", ELEMENTWISE_EPS + 2.0 * math.sqrt(n))


@rule("matmul(k)", "as reduction(k); scale sum|a_i b_i| from the reference")
def matmul(k: int) -> Rule:
    """Matrix products and convolutions with inner (contraction) size k: a reduction of k terms
    (scale = sum |a_i b_i|, supplied by the reference through abs_scales)."""
    k = max(int(k), 1)
    return Rule(f"matmul(k={k})", ELEMENTWISE_EPS + 2.0 * math.sqrt(k))


@rule("normalization(n)", "two chained reductions of n terms plus sqrt and division")
def normalization(n: int) -> Rule:
    """Batch/layer statistics over n values, then an elementwise transform: the mean and the
    variance are two chained reductions of n terms, and the normalised value combines them with
    a square root and a division (three more roundings)."""
    n = max(int(n), 1)
    return Rule(f"normalization(n={n})", 2 * (ELEMENTWISE_EPS + 2.0 * math.sqrt(n)) + 3.0)


@rule("iterated(steps, rule)", "steps x the single-step rule: errors of a non-amplifying "
      "iterated map add up linearly")
def iterated(steps: int, per_step: Rule) -> Rule:
    """``steps`` applications of an update whose single-step error is bounded by ``per_step``.

    Rounding errors of an iterated map that does not amplify perturbations (optimizer steps with
    lr * curvature <= 1, schedule recurrences) add up at most linearly in the step count.
    """
    steps = max(int(steps), 1)
    return Rule(f"iterated(steps={steps}, {per_step.name})", steps * per_step.limit)


@rule("exact", "integer results and copies must match exactly")
def exact() -> Rule:
    """Values the framework must reproduce exactly (index outputs, integer buffers, copies)."""
    return Rule("exact", 0.0)


@rule("attention(d, s, k)", "sum of the chained stage limits of softmax attention, forward and "
      "backward: 2 dot products of length d (scores, dP), 3 sums over s keys (softmax "
      "normaliser, sum_k p dP, weighted sums), 2 projections of length k; scale = first-order "
      "error magnitude from the reference")
def attention(d: int, s: int, k: int = 1) -> Rule:
    """Scaled dot-product attention and the modules built on it.

    Chained stages, each a reduction (``matmul``) bounded relative to its own magnitude: the
    scores q.k (length d = head_dim), the softmax normaliser over s keys, the weighted sum
    p.v over s, and in the backward dP = dO.v (d), sum_k p dP (s), dS.k / p^T.dO (s); the
    in/out projections (and weight gradients) contract over k (embed dims, or the rows N*L of a
    weight gradient). An absolute score error d_j becomes a relative error of p_j (p_j (d_j -
    sum p d)), so the reference's error scales carry the score magnitudes |scale| |q|.|k|
    through the softmax (reference.functional.attention); relative to that first-order
    magnitude each stage adds at most its own limit, so the limit is their sum.
    """
    d, s, k = max(int(d), 1), max(int(s), 1), max(int(k), 1)
    def stage(n: int) -> float:
        return ELEMENTWISE_EPS + 2.0 * math.sqrt(n)
    limit = 2 * stage(d) + 3 * stage(s) + 2 * stage(k)
    return Rule(f"attention(d={d}, s={s}, k={k})", limit)


@rule("lp_pool(n)", "reduction(n) for the window sum of n powered terms, carried through the "
      "root and its derivative with a factor <= 1 (|1/p|, |1/p - 1| <= 1 for p >= 1/2), plus "
      "3 x elementwise for the three pow kernels (x**p or x**(p-1), the root, its derivative)")
def lp_pool(n: int) -> Rule:
    """Power-average pooling y = (sum_window x**p)**(1/p) (LPPool) and its gradient
    g (sum x**p)**(1/p - 1) x**(p-1), summed over the windows sharing an element.

    The window sum of n terms x**p is a reduction (relative to sum |x|**p, the reference's
    output scale); the root y = s**(1/p) scales a relative error of s by 1/p and the gradient's
    s**(1/p - 1) by |1/p - 1|, both <= 1 for p >= 1/2. Each of the three pow evaluations
    (x**p in the forward or x**(p-1) in the backward, the root, the root's derivative) adds at
    most one elementwise kernel error.
    """
    n = max(int(n), 1)
    return Rule(f"lp_pool(n={n})", ELEMENTWISE_EPS + 2.0 * math.sqrt(n) + 3 * ELEMENTWISE_EPS)


@rule("recurrence(steps, k, n)", "2 x steps x (4 + 2 sqrt(k) + 3 x elementwise) + 4 + 2 sqrt(n): "
      "forward and BPTT errors of a contracting recurrence each add up linearly over the steps "
      "cell applications of the longest chain; a cell is a matmul of length k plus two chained "
      "transcendental stages and the roundings of its gate products and sums; weight gradients "
      "add a reduction over the n = seq_len x batch rows")
def recurrence(steps: int, k: int, n: int = 1) -> Rule:
    """Recurrent layers (RNN, LSTM, GRU and their cells): outputs, final states and gradients
    with respect to inputs, initial states and weights (backpropagation through time).

    One cell application is a matmul of length k (forward: W_ih x + W_hh h over input + hidden
    features; backward: the VJP over gates x hidden; an LSTM projection over hidden) followed by
    at most two chained transcendental stages (the gates, then tanh of the LSTM cell state or of
    the GRU candidate) and at most 8 roundings of gate products and sums (LSTM f c + i g,
    o tanh c; GRU r (W_hn h + b_hn), (1 - z) n + z h): matmul(k) + 3 x elementwise, measured
    relative to the reference's magnitudes (reference.functional.recurrent). A recurrence whose
    step map does not amplify perturbations (the Jacobian w.r.t. state and layer input is a
    contraction, as for weights drawn like torch's initialisation U(-1/sqrt(hidden),
    1/sqrt(hidden)) and bounded states) passes each step's rounding error on undiminished at
    most, so errors add up at most linearly (as ``iterated``) over the cell applications of
    the longest dependency chain, steps = seq_len + num_layers - 1 (a layer's step depends on
    the same step of the layer below and the previous step of its own layer). A gradient carries
    the forward chain's error (in the saved states and gates its VJPs use) plus the backward
    chain's own (BPTT is the transposed recurrence, the same contraction): 2 x steps cell
    applications. Weight gradients sum each step's outer product over the n = seq_len x batch
    rows: one more reduction.
    """
    steps, k, n = max(int(steps), 1), max(int(k), 1), max(int(n), 1)
    cell = ELEMENTWISE_EPS + 2.0 * math.sqrt(k) + 3 * ELEMENTWISE_EPS
    limit = 2 * steps * cell + ELEMENTWISE_EPS + 2.0 * math.sqrt(n)
    return Rule(f"recurrence(steps={steps}, k={k}, n={n})", limit)


@rule("depth_profile(layers, k, n)", "layers x (matmul(k) + elementwise) + normalization(n) "
      "relative to each layer's std, or 4 x the reference's measured sensitivity of that std "
      "(twin runs perturbed by the full per-layer allowance) where the network amplifies "
      "perturbations; past the dtype's range the backend must overflow exactly where the "
      "reference's magnitudes say it must")
def depth_profile(layers: int, k: int, n: int) -> Rule:
    """The standard deviation (over n = batch x width values) of every module output of a stack
    of ``layers`` bias-free linear layers of contraction k, each followed by an optional
    pointwise activation, on identical weights (initializer depth scenarios).

    Each layer is one matmul(k) and one elementwise kernel, relative to the layer's magnitude
    ``|x| @ |W|.T``; for a stack that does not amplify relative perturbations (identity with
    norm-preserving weights, ReLU with He weights: homogeneous maps) the errors add up at most
    linearly, as ``iterated``, and the std of an output moves by at most the rms of its error.
    The backend's std itself is a mean, a variance and a square root over n values:
    ``normalization(n)`` (torch's float64 std of 4096 values is up to ~80 eps off the exact
    one). limit = layers x (matmul(k) + elementwise) + normalization(n), relative to the
    reference std. A stack in the chaotic phase (tanh with gain 5/3: sigma_w^2 = 2.8 > 1)
    amplifies perturbations by ~e^0.1 per layer, so no static bound holds; there the reference
    measures the std's own sensitivity: twin runs with every Linear output perturbed by
    U(-1, 1) x the per-layer allowance x |x| @ |W|.T (``reference.init.depth_profile``), and
    the allowance is 4 x their largest std deviation (random perturbations align with the most
    expanding directions within a few layers, so a twin's growth is the worst case's up to an
    O(1) factor, which 4 and the maximum over 3 twins cover). The harness passes that term as
    the std's error scale (``4 twin_dev / (eps x limit)``), so the comparison is the usual one.
    Overflow is not a tolerance question: a layer whose every partial sum stays below
    max/(1 + delta) must be finite, one whose exact output exceeds max (1 + delta) must be
    inf/nan, and with no activation every later layer too (delta = the relative per-layer
    allowance times the depth); between the two either is accepted and not compared.
    """
    layers, k, n = max(int(layers), 1), max(int(k), 1), max(int(n), 1)
    per_layer = matmul(k).limit + elementwise().limit
    return Rule(f"depth_profile(layers={layers}, k={k}, n={n})",
                layers * per_layer + normalization(n).limit)
