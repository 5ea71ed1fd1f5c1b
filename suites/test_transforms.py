"""Data transforms of the training input pipeline: torchvision's transforms.ToTensor and
transforms.Normalize (reference: reference/transforms.py).

Where torchvision does not import beside the framework (its PyPI build against torch 2.13.0),
the torch adapter reports these cases ``unsupported`` with that reason; they run where
torchvision imports (torch 2.14.1 with torchvision 0.29.1).

ToTensor: HWC uint8 pictures become CHW float in [0, 1] (a division by 255: ``elementwise``),
given as NumPy arrays and as PIL images (the second input names the container; the torch
adapter converts, backends/torch_calls.py). Its float output has torch's default dtype
(float32) whatever the run's dtype, so the uint8 cases run in float32 only; arrays of other
dtypes pass through unscaled (a copy: ``exact``). Not differentiable: forward only.

Normalize: (x - mean[c]) / std[c] per channel (``elementwise``, error scale (|x| + |mean|) /
|std| for the cancellation), forward and backward; ``inplace=True`` cases are forward-only
(the adapter's inputs are leaves). A std that is zero after conversion to the input's dtype
raises: the reference is told the dtype (``input_dtype``).
"""

from hypothesis import given, strategies as st

from harness.cases import DTYPE, Case, Input, cases_from, content_label, generated
from harness.tolerance import elementwise, exact

TO_TENSOR = "torchvision.transforms.ToTensor"
NORMALIZE = "torchvision.transforms.Normalize"

#: A 2 x 2 RGB picture; ToTensor gives channel c = value / 255 (0, 51/255 = 0.2, 1, ...).
RGB_2x2 = [[[0, 51, 255], [102, 153, 204]], [[255, 0, 1], [128, 127, 254]]]


def to_tensor(label: str, shape: tuple[int, ...] = (), *, kind: str = "uint8", value=None,
              pil: bool = False, expect_error: str = "", dtypes=("float32",),
              rule=None) -> Case:
    inputs = (Input(shape, kind=kind, value=value),)
    if pil:
        inputs += (Input(kind="python", value="pil"),)
    return Case(op=TO_TENSOR, family="module", label=label, rule=rule or elementwise(),
                inputs=inputs, backward=False, expect_error=expect_error, dtypes=dtypes)


def normalize(label: str, shape: tuple[int, ...], mean, std, *, inplace: bool | None = None,
              kind: str = "normal", value=None, expect_error: str = "", dtypes=None,
              backward: bool = True) -> Case:
    kwargs = {"mean": mean, "std": std}
    if inplace is not None:
        kwargs["inplace"] = inplace
    return Case(op=NORMALIZE, family="module", label=label, rule=elementwise(), kwargs=kwargs,
                inputs=(Input(shape, kind=kind, value=value),), expect_error=expect_error,
                backward=backward and not inplace and not expect_error, dtypes=dtypes,
                reference_kwargs={"input_dtype": DTYPE})


IMAGENET = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])


def curated() -> list[Case]:
    return [
        # ToTensor, NumPy arrays
        to_tensor("worked_rgb_2x2", (2, 2, 3), value=RGB_2x2),
        to_tensor("hwc_rgb", (4, 5, 3)),
        to_tensor("hwc_rgba", (3, 2, 4)),
        to_tensor("hwc_one_channel", (3, 4, 1)),
        to_tensor("hw_gray", (4, 3)),
        to_tensor("extremes", (1, 2, 2), value=[[[0, 255], [255, 0]]]),
        to_tensor("all_bytes", (16, 16, 1), value=[[[16 * r + c] for c in range(16)]
                                                   for r in range(16)]),
        to_tensor("bool_unscaled", (3, 4), kind="bool", rule=exact()),
        to_tensor("float_unscaled", (3, 2, 3), kind="normal", rule=exact(),
                  dtypes=("float32", "float64")),
        to_tensor("rank4", (1, 2, 2, 3), expect_error="pic should be 2/3 dimensional"),
        to_tensor("rank1", (5,), expect_error="pic should be 2/3 dimensional"),
        # ToTensor, PIL images
        to_tensor("pil_rgb", (4, 5, 3), pil=True),
        to_tensor("pil_worked_rgb_2x2", (2, 2, 3), value=RGB_2x2, pil=True),
        to_tensor("pil_rgba", (3, 2, 4), pil=True),
        to_tensor("pil_la", (3, 2, 2), pil=True),
        to_tensor("pil_gray_L", (4, 3), pil=True),
        to_tensor("pil_binary_1", (3, 5), kind="bool", pil=True),
        to_tensor("pil_float_F", (3, 4), kind="normal", pil=True, rule=exact()),
        to_tensor("pil_one_channel_hwc", (3, 4, 1), pil=True,
                  expect_error="Cannot handle this data type"),
        # Normalize
        normalize("imagenet", (3, 4, 5), *IMAGENET, kind="uniform"),
        normalize("imagenet_batch", (2, 3, 4, 5), *IMAGENET, kind="uniform"),
        normalize("imagenet_inplace", (3, 4, 5), *IMAGENET, kind="uniform", inplace=True),
        normalize("inplace_false", (3, 2, 2), [0.5, -1.0, 2.0], [2.0, 0.5, 4.0],
                  inplace=False),
        normalize("worked_half", (3, 1, 2), [0.5] * 3, [0.5] * 3,
                  value=[[[0.0, 1.0]], [[0.5, 0.25]], [[0.75, 1.0]]]),
        normalize("one_value_broadcast", (3, 4, 4), [0.5], [0.25]),
        normalize("numbers", (2, 3, 3), 0.5, 0.25),
        normalize("negative_std", (2, 3, 3), [0.1, 0.2], [-2.0, 0.5]),
        normalize("unit", (4, 3, 3), [0.0] * 4, [1.0] * 4),
        normalize("rank5", (2, 2, 3, 2, 2), [0.1, 0.2, 0.3], [1.0, 2.0, 3.0]),
        normalize("large", (3, 4, 4), [100.0, -50.0, 0.0], [3.0, 7.0, 0.1], kind="large"),
        normalize("zero_std", (3, 2, 2), [0.5, 0.5, 0.5], [0.5, 0.0, 1.0],
                  expect_error="std evaluated to zero"),
        # 1e-46 is zero in float32 (and below), a normal number in float64
        normalize("std_underflows", (3, 2, 2), [0.5], [1e-46],
                  expect_error="std evaluated to zero", dtypes=("float32", "float16",
                                                                 "bfloat16")),
        normalize("tiny_std", (3, 2, 2), [0.0], [1e-300], dtypes=("float64",)),
        normalize("rank2", (3, 4), [0.5], [0.5], expect_error="Expected tensor to be a tensor "
                  "image of size"),
        normalize("uint8_input", (3, 2, 2), [0.5], [0.5], kind="uint8",
                  expect_error="Input tensor should be a float tensor"),
        normalize("channels_mismatch", (3, 2, 2), [0.5, 0.5], [1.0, 1.0],
                  expect_error="must match the size"),
    ]


@cases_from(curated)
def test_transform(case, backend, conform):
    conform(case, backend)


@st.composite
def transform_cases(draw, dtype: str) -> Case:
    if draw(st.booleans()):
        c = draw(st.integers(1, 4))
        lead = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
        shape = lead + (c, draw(st.integers(1, 5)), draw(st.integers(1, 5)))
        per = draw(st.booleans())
        mean = [draw(st.sampled_from([0.0, 0.5, -1.25, 0.485])) for _ in range(c if per else 1)]
        std = [draw(st.sampled_from([1.0, 0.25, 3.0, 0.229])) for _ in range(c if per else 1)]
        inplace = draw(st.booleans())
        label = content_label("h", op="Normalize", shape=shape, mean=mean, std=std,
                              inplace=inplace)
        return normalize(label, shape, mean, std, inplace=inplace).with_dtype(dtype)
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    c = draw(st.sampled_from([None, 1, 2, 3, 4]))
    pil = draw(st.booleans()) and c != 1
    shape = (h, w) if c is None else (h, w, c)
    label = content_label("h", op="ToTensor", shape=shape, pil=pil)
    return to_tensor(label, shape, pil=pil).with_dtype(dtype)


@generated(dtypes=("float32",))
@given(data=st.data())
def test_transform_generated(data, dtype, backend, conform):
    conform(data.draw(transform_cases(dtype)), backend, generated=True)
