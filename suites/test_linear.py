"""Linear family: Identity, Linear, LazyLinear, Bilinear, Flatten, Unflatten.

Rules: Linear and LazyLinear ``matmul(k)`` with k the longest contraction (in_features for the
output, out_features for the input gradient, the batch rows for the weight gradient); Bilinear
``matmul(k)`` with k = max(in1 * in2 (output), out * in2 (input1 gradient), out * in1 (input2
gradient), batch rows (weight gradient)); Identity, Flatten and Unflatten are copies and
reshapes: ``exact``.

LazyLinear infers in_features from the last axis of the first input (the weight, its gradient
and the output shapes are compared) and then gives the numbers of Linear.
"""

import math

from hypothesis import given, strategies as st

from harness.cases import Case, cases_from, generated, Input, content_label
from harness.tolerance import exact, matmul


def linear_case(label: str, in_f: int, out_f: int, batch: tuple[int, ...], bias: bool = True,
                **kw) -> Case:
    k = max(in_f, out_f, math.prod(batch))  # the longest sum any output or gradient does
    kw.setdefault("inputs", (Input(batch + (in_f,)),))
    return Case(op="nn.Linear", family="module", label=label, rule=matmul(k),
                kwargs={"in_features": in_f, "out_features": out_f, "bias": bias}, **kw)


def curated() -> list[Case]:
    return [
        linear_case("in3_out4", 3, 4, (5,)),
        linear_case("nobias", 3, 4, (5,), bias=False),
        linear_case("batch3d", 6, 2, (2, 3)),
        linear_case("unbatched", 5, 3, ()),
        linear_case("in64_out32", 64, 32, (16,)),
        linear_case("in1_out1", 1, 1, (7,)),
        linear_case("wrong_in", 4, 3, (2,), inputs=(Input((2, 5)),),
                    expect_error="cannot be multiplied", backward=False),
    ]


@cases_from(curated)
def test_module(case, backend, conform):
    conform(case, backend)


# ============================================================================ the other layers

def lazy_linear(label: str, out_f: int, shape: tuple[int, ...], bias: bool = True,
                **kw) -> Case:
    k = max(shape[-1] if shape else 1, out_f, math.prod(shape[:-1]))
    kw.setdefault("inputs", (Input(shape),))
    return Case(op="nn.LazyLinear", family="module", label=label, rule=matmul(k),
                kwargs={"out_features": out_f, "bias": bias}, **kw)


def bilinear(label: str, in1: int, in2: int, out_f: int, batch: tuple[int, ...],
             bias: bool = True, inputs=None, expect_error: str = "", mode: str = "") -> Case:
    k = max(in1 * in2, out_f * in2, out_f * in1, math.prod(batch))
    return Case(op="nn.Bilinear", family="module", label=label, rule=matmul(k), mode=mode,
                kwargs={"in1_features": in1, "in2_features": in2, "out_features": out_f,
                        "bias": bias},
                inputs=inputs or (Input(batch + (in1,)), Input(batch + (in2,))),
                expect_error=expect_error, backward=not expect_error)


def reshape_case(op: str, label: str, shape: tuple[int, ...], expect_error: str = "",
                 kind: str = "normal", **kwargs) -> Case:
    return Case(op=op, family="module", label=label, rule=exact(), kwargs=kwargs,
                inputs=(Input(shape, kind=kind),), expect_error=expect_error,
                backward=not expect_error)


def more() -> list[Case]:
    cases = [
        # Identity: any constructor arguments, any shape, gradients pass through unchanged
        reshape_case("nn.Identity", "default", (3, 4)),
        reshape_case("nn.Identity", "ignored_args", (2, 3, 4), unused_argument1=0.1,
                     unused_argument2=False),
        reshape_case("nn.Identity", "scalar", ()),
        reshape_case("nn.Identity", "large", (6,), kind="large"),
        Case(op="nn.Identity", family="module", label="nonfinite", rule=exact(),
             inputs=(Input((6,), value=[math.nan, math.inf, -math.inf, 0.0, -1.5, 2.5]),)),
        # LazyLinear
        lazy_linear("in3_out4", 4, (5, 3)),
        lazy_linear("nobias", 4, (5, 3), bias=False),
        lazy_linear("batch3d", 2, (2, 3, 6)),
        lazy_linear("unbatched", 3, (5,)),
        lazy_linear("in64_out32", 32, (16, 64)),
        # Bilinear
        bilinear("in3_in4_out2", 3, 4, 2, (5,)),
        bilinear("nobias", 3, 4, 2, (5,), bias=False),
        bilinear("batch3d", 2, 3, 4, (2, 3)),
        bilinear("unbatched", 3, 2, 4, ()),
        bilinear("in1_in1_out1", 1, 1, 1, (6,)),
        bilinear("in8_in8_out8", 8, 8, 8, (10,)),
        bilinear("eval", 3, 4, 2, (5,), mode="eval"),
        bilinear("batch_mismatch", 3, 4, 2, (5,),
                 inputs=(Input((5, 3)), Input((4, 4))),
                 expect_error="batch dimensions do not match"),
        bilinear("in1_mismatch", 3, 4, 2, (5,), inputs=(Input((5, 2)), Input((5, 4))),
                 expect_error="input1 size does not match"),
        bilinear("in2_mismatch", 3, 4, 2, (5,), inputs=(Input((5, 3)), Input((5, 5))),
                 expect_error="input2 size does not match"),
        bilinear("rank_mismatch", 3, 4, 2, (5,), inputs=(Input((5, 3)), Input((1, 5, 4))),
                 expect_error="input dimensions do not match"),
        # Flatten
        reshape_case("nn.Flatten", "default", (2, 3, 4)),
        reshape_case("nn.Flatten", "start0", (2, 3, 4), start_dim=0),
        reshape_case("nn.Flatten", "start1_end2", (2, 3, 4, 5), start_dim=1, end_dim=2),
        reshape_case("nn.Flatten", "negative_dims", (2, 3, 4, 5), start_dim=-3, end_dim=-2),
        reshape_case("nn.Flatten", "start_eq_end", (2, 3, 4), start_dim=1, end_dim=1),
        reshape_case("nn.Flatten", "rank1", (5,), start_dim=0),
        reshape_case("nn.Flatten", "scalar", (), start_dim=0),
        reshape_case("nn.Flatten", "zero_size", (2, 0, 3)),
        reshape_case("nn.Flatten", "start_after_end", (2, 3, 4), start_dim=2, end_dim=1,
                     expect_error="start_dim cannot come after end_dim"),
        reshape_case("nn.Flatten", "dim_out_of_range", (2, 3), start_dim=3,
                     expect_error="Dimension out of range"),
        # Unflatten
        reshape_case("nn.Unflatten", "tuple", (2, 12), dim=1, unflattened_size=(3, 4)),
        reshape_case("nn.Unflatten", "list", (2, 12), dim=1, unflattened_size=[2, 2, 3]),
        reshape_case("nn.Unflatten", "infer", (2, 12, 3), dim=1, unflattened_size=(-1, 4)),
        reshape_case("nn.Unflatten", "negative_dim", (2, 3, 6), dim=-1,
                     unflattened_size=(2, 3)),
        reshape_case("nn.Unflatten", "dim0", (6, 2), dim=0, unflattened_size=(3, 2)),
        reshape_case("nn.Unflatten", "single", (2, 5), dim=1, unflattened_size=(5,)),
        reshape_case("nn.Unflatten", "ones", (2, 5), dim=1, unflattened_size=(1, 5, 1)),
        reshape_case("nn.Unflatten", "not_multiply", (2, 12), dim=1, unflattened_size=(5, 2),
                     expect_error="don't multiply up"),
        reshape_case("nn.Unflatten", "two_inferred", (2, 12), dim=1,
                     unflattened_size=(-1, -1), expect_error="only one dimension can be inferred"),
        reshape_case("nn.Unflatten", "dim_out_of_range", (2, 12), dim=2,
                     unflattened_size=(3, 4), expect_error="Dimension out of range"),
    ]
    return cases


@cases_from(more)
def test_layers(case, backend, conform):
    conform(case, backend)


@st.composite
def linear_cases(draw, dtype: str) -> Case:
    in_f, out_f = draw(st.integers(1, 24)), draw(st.integers(1, 24))
    batch = tuple(draw(st.lists(st.integers(1, 6), min_size=0, max_size=2)))
    bias = draw(st.booleans())
    label = content_label("h", i=in_f, o=out_f, b=batch, bias=bias)
    return linear_case(label, in_f, out_f, batch, bias).with_dtype(dtype)


@generated()
@given(data=st.data())
def test_module_generated(data, dtype, backend, conform):
    conform(data.draw(linear_cases(dtype)), backend, generated=True)


@st.composite
def layer_cases(draw, dtype: str) -> Case:
    """Bilinear, LazyLinear, Identity, Flatten and Unflatten over shapes and options."""
    op = draw(st.sampled_from(["nn.Bilinear", "nn.LazyLinear", "nn.Identity", "nn.Flatten",
                               "nn.Unflatten"]))
    if op == "nn.Bilinear":
        in1, in2, out_f = (draw(st.integers(1, 8)) for _ in range(3))
        batch = tuple(draw(st.lists(st.integers(1, 5), min_size=0, max_size=2)))
        bias = draw(st.booleans())
        label = content_label("h", op=op, i1=in1, i2=in2, o=out_f, b=batch, bias=bias)
        return bilinear(label, in1, in2, out_f, batch, bias).with_dtype(dtype)
    if op == "nn.LazyLinear":
        shape = tuple(draw(st.lists(st.integers(1, 12), min_size=1, max_size=3)))
        out_f, bias = draw(st.integers(1, 12)), draw(st.booleans())
        label = content_label("h", op=op, s=shape, o=out_f, bias=bias)
        return lazy_linear(label, out_f, shape, bias).with_dtype(dtype)
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    nd = len(shape)
    if op == "nn.Identity":
        label = content_label("h", op=op, s=shape)
        return reshape_case(op, label, shape).with_dtype(dtype)
    if op == "nn.Flatten":
        s = draw(st.integers(0, nd - 1))
        e = draw(st.integers(s, nd - 1))
        kw = {"start_dim": s - nd if draw(st.booleans()) else s,
              "end_dim": e - nd if draw(st.booleans()) else e}
        label = content_label("h", op=op, s=shape, **kw)
        return reshape_case(op, label, shape, **kw).with_dtype(dtype)
    d = draw(st.integers(0, nd - 1))
    # split the axis into factors (at most one -1)
    n, sizes = shape[d], []
    for f in (2, 3):
        while n % f == 0 and draw(st.booleans()):
            sizes.append(f)
            n //= f
    sizes.append(n)
    sizes = draw(st.permutations(sizes))
    if draw(st.booleans()):
        sizes[draw(st.integers(0, len(sizes) - 1))] = -1
    kw = {"dim": d - nd if draw(st.booleans()) else d, "unflattened_size": tuple(sizes)}
    label = content_label("h", op=op, s=shape, **kw)
    return reshape_case(op, label, shape, **kw).with_dtype(dtype)


@generated()
@given(data=st.data())
def test_layers_generated(data, dtype, backend, conform):
    conform(data.draw(layer_cases(dtype)), backend, generated=True)
