"""Distances: nn.CosineSimilarity (dim, eps) and nn.PairwiseDistance (p, eps, keepdim).

Rules: both reduce n = the size of the reduced axis. PairwiseDistance is a p-norm of n terms
(``reduction(n)``; its backward is elementwise given the norm). CosineSimilarity combines three
reductions of n terms (x1.x2, |x1|^2, |x2|^2), two square roots and a division: the chained
``normalization(n)`` rule (two chained reductions, sqrt and division). The reference supplies
error scales: sum |x1 x2| / (|x1| |x2|) for the cosine (the dot product cancels) and the
magnitudes of the terms of each gradient.

Edge data: broadcasting, norms below eps (the clamp), equal inputs (distance eps * n^(1/p)),
p = 1, 2, 3, 0.5, inf, 0, negative p.
"""

import numpy as np
from hypothesis import given, strategies as st

from harness.cases import Case, cases_from, generated, Input, content_label
from harness.tolerance import normalization, reduction


def cos(label: str, s1: tuple, s2: tuple | None = None, dim: int = 1, inputs=None,
        **kw) -> Case:
    if inputs is not None:
        s1, s2 = (tuple(np.shape(x.value)) if x.value is not None else x.shape for x in inputs)
    s2 = s1 if s2 is None else s2
    n = max(s1[dim], s2[dim - len(s1) + len(s2)] if len(s2) > (len(s1) - 1 - dim) else 1)
    kwargs = {"dim": dim, **kw} if dim != 1 else dict(kw)
    return Case(op="nn.CosineSimilarity", family="module", label=label,
                rule=normalization(n), kwargs=kwargs,
                inputs=inputs or (Input(s1), Input(s2)))


def pdist(label: str, s1: tuple, s2: tuple | None = None, inputs=None, backward=True,
          **kw) -> Case:
    if inputs is not None:
        s1, s2 = (tuple(np.shape(x.value)) if x.value is not None else x.shape for x in inputs)
    s2 = s2 or s1
    return Case(op="nn.PairwiseDistance", family="module", label=label,
                rule=reduction(max(s1[-1], s2[-1])), kwargs=kw,
                inputs=inputs or (Input(s1), Input(s2)), backward=backward)


TINY = [[1e-9, -2e-9, 0.0], [0.5, 1.0, -2.0]]     # first row's norm below eps = 1e-8
ZERO = [[0.0, 0.0, 0.0], [1.0, -1.0, 0.25]]


def distance_curated() -> list[Case]:
    return [
        cos("n4_d6", (4, 6)),
        cos("dim0", (5, 3), dim=0),
        cos("dim_neg1", (2, 3, 7), dim=-1),
        cos("dim2_rank4", (2, 3, 4, 5), dim=2),
        cos("broadcast", (4, 6), (1, 6)),
        cos("broadcast_rank", (2, 4, 6), (4, 6), dim=-1),
        cos("eps0.5", (4, 6), eps=0.5),
        cos("long_d256", (3, 256)),
        cos("zero_row", None, inputs=(Input((2, 3), value=ZERO), Input((2, 3)))),
        # below eps the clamp takes over; torch differentiates through the unclamped norm there
        # (reference.functional.distance docstring), the forward is checked
        Case(op="nn.CosineSimilarity", family="module", label="norm_below_eps",
             rule=normalization(3), backward=False,
             inputs=(Input((2, 3), value=TINY), Input((2, 3)))),
        cos("rank1", None, dim=0, inputs=(Input((5,)), Input((5,)))),
        pdist("p2", (4, 6)),
        pdist("p1", (4, 6), p=1.0),
        pdist("p3", (4, 6), p=3.0),
        pdist("p0.5", (4, 6), p=0.5),
        pdist("p_inf", (4, 6), p=float("inf")),
        pdist("p_neg_inf", (4, 6), p=float("-inf")),
        pdist("p_neg1", (4, 6), p=-1.0),
        # p = 0 counts non-zeros: torch's result has no grad_fn (no gradient to compare)
        pdist("p0", (4, 6), p=0.0, backward=False),
        pdist("keepdim", (4, 6), keepdim=True),
        pdist("eps0", (4, 6), eps=0.0),
        pdist("eps0.1_keepdim_p1", (4, 6), eps=0.1, keepdim=True, p=1.0),
        pdist("broadcast", (4, 6), (1, 6)),
        pdist("rank1", (6,)),
        pdist("rank3", (2, 3, 5)),
        pdist("long_d512", (2, 512)),
        # equal inputs: the difference is exactly eps in every component
        pdist("equal_inputs", None, inputs=(Input((2, 3), value=ZERO), Input((2, 3), value=ZERO))),
        pdist("equal_inputs_eps0", None, eps=0.0, backward=False,
              inputs=(Input((2, 3), value=ZERO), Input((2, 3), value=ZERO))),
    ]


@cases_from(distance_curated)
def test_distance(case, backend, conform):
    conform(case, backend)


@st.composite
def distance_cases(draw, dtype: str) -> Case:
    rank = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(1, 8), min_size=rank, max_size=rank)))
    shape2 = tuple(1 if draw(st.integers(0, 4)) == 0 else n for n in shape)
    if draw(st.booleans()):
        dim = draw(st.integers(-rank, rank - 1))
        eps = draw(st.sampled_from([1e-8, 1e-6, 0.1]))
        label = content_label("cos", s=shape, s2=shape2, dim=dim, eps=eps)
        return cos(label, shape, shape2, dim=dim % rank, eps=eps).with_dtype(dtype)
    p = draw(st.sampled_from([1.0, 2.0, 3.0, 1.5, 0.5, float("inf")]))
    eps = draw(st.sampled_from([1e-6, 0.0, 0.01]))
    keepdim = draw(st.booleans())
    label = content_label("pd", s=shape, s2=shape2, p=p, eps=eps, keepdim=keepdim)
    return pdist(label, shape, shape2, p=p, eps=eps, keepdim=keepdim).with_dtype(dtype)


@generated()
@given(data=st.data())
def test_distance_generated(data, dtype, backend, conform):
    conform(data.draw(distance_cases(dtype)), backend, generated=True)
