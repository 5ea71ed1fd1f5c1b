"""Transform references (ToTensor, Normalize): worked examples from the torchvision docs,
identities, Normalize's backward against central differences, and torchvision's errors."""

import numpy as np
import pytest

from reference import driver
from reference.transforms import Normalize, ToTensor, underflows_to_zero
from tests.fd import assert_vjp_matches

rng = np.random.default_rng(7)


def _run(module, *inputs):
    (y,), buffers, ctx = module.forward({}, {}, tuple(inputs), True)
    assert buffers == {}
    return y, ctx


def test_driver_resolves_torchvision_names():
    assert driver.resolve("torchvision.transforms.ToTensor") is ToTensor
    assert driver.resolve("torchvision.transforms.Normalize") is Normalize
    assert not driver.has("torchvision.transforms.Resize")


# ---------------------------------------------------------------------------------- ToTensor

def test_to_tensor_worked_example_hwc_uint8_to_chw_unit_interval():
    pic = np.array([[[0, 51, 255], [102, 153, 204]], [[255, 0, 1], [128, 127, 254]]],
                   dtype=np.uint8)
    y, _ = _run(ToTensor(), pic)
    assert y.shape == (3, 2, 2)
    np.testing.assert_array_equal(y[0], [[0.0, 0.4], [1.0, 128 / 255]])
    np.testing.assert_array_equal(y[1], [[0.2, 0.6], [0.0, 127 / 255]])
    np.testing.assert_array_equal(y[2], [[1.0, 0.8], [1 / 255, 254 / 255]])
    assert y.min() >= 0.0 and y.max() <= 1.0


def test_to_tensor_is_a_transpose_and_a_division_by_255():
    pic = rng.integers(0, 256, size=(5, 4, 3), dtype=np.uint8)
    y, _ = _run(ToTensor(), pic)
    np.testing.assert_array_equal(y, np.transpose(pic, (2, 0, 1)) / 255.0)
    assert y.flags.c_contiguous
    gray = pic[:, :, 0]
    g, _ = _run(ToTensor(), gray)  # (H, W) gets a channel axis
    np.testing.assert_array_equal(g, gray[None] / 255.0)


def test_to_tensor_other_dtypes_pass_through_unscaled():
    b = rng.random((3, 4)) < 0.5
    y, _ = _run(ToTensor(), b)
    assert y.dtype == np.bool_ and y.shape == (1, 3, 4)
    np.testing.assert_array_equal(y[0], b)
    f = rng.normal(size=(2, 3, 2)) * 100
    y, _ = _run(ToTensor(), f)
    np.testing.assert_array_equal(y, f.transpose(2, 0, 1))


def test_to_tensor_pil_modes():
    rgb = rng.integers(0, 256, size=(2, 3, 3), dtype=np.uint8)
    for c in (2, 3, 4):
        pic = rng.integers(0, 256, size=(2, 3, c), dtype=np.uint8)
        np.testing.assert_array_equal(_run(ToTensor(), pic, "pil")[0],
                                      _run(ToTensor(), pic, "ndarray")[0])
    np.testing.assert_array_equal(_run(ToTensor(), rgb, "pil")[0], rgb.transpose(2, 0, 1) / 255)
    b = rng.random((3, 4)) < 0.5  # mode '1': 0/1 bytes * 255 / 255
    y, _ = _run(ToTensor(), b, "pil")
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y[0], b.astype(float))
    f = rng.normal(size=(3, 4)).astype(np.float32)  # mode 'F': unscaled
    np.testing.assert_array_equal(_run(ToTensor(), f, "pil")[0][0], f)


def test_to_tensor_errors():
    for shape in [(5,), (1, 2, 2, 3)]:
        with pytest.raises(ValueError, match="pic should be 2/3 dimensional"):
            _run(ToTensor(), np.zeros(shape, np.uint8))
    with pytest.raises(TypeError, match="Cannot handle this data type"):
        _run(ToTensor(), np.zeros((2, 2, 1), np.uint8), "pil")
    with pytest.raises(TypeError, match="Cannot handle this data type"):
        _run(ToTensor(), np.zeros((2, 2, 3), np.float32), "pil")
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray"):
        _run(ToTensor(), np.zeros((2, 2), np.uint8), "tensor")


def test_to_tensor_has_no_gradient():
    pic = np.zeros((2, 2, 3), np.uint8)
    _, ctx = _run(ToTensor(), pic, "pil")
    assert ToTensor().backward(ctx, (np.ones((3, 2, 2)),)) == ((None, None), {})


# --------------------------------------------------------------------------------- Normalize

IMAGENET = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])


def test_normalize_worked_example_per_channel():
    x = np.array([[[0.0, 1.0]], [[0.5, 0.25]], [[0.75, 1.0]]])
    y, _ = _run(Normalize([0.5] * 3, [0.5] * 3), x)  # maps [0, 1] onto [-1, 1]
    np.testing.assert_array_equal(y, [[[-1.0, 1.0]], [[0.0, -0.5]], [[0.5, 1.0]]])
    x = rng.uniform(size=(2, 3, 4, 5))
    y, _ = _run(Normalize(*IMAGENET), x)
    for c in range(3):
        np.testing.assert_allclose(y[:, c], (x[:, c] - IMAGENET[0][c]) / IMAGENET[1][c],
                                   rtol=1e-15)


def test_normalize_broadcasts_one_value_and_numbers_and_inplace_is_the_same_value():
    x = rng.normal(size=(3, 2, 2))
    a, _ = _run(Normalize([0.5], [0.25]), x)
    b, _ = _run(Normalize(0.5, 0.25), x)
    c, _ = _run(Normalize([0.5] * 3, [0.25] * 3, inplace=True), x)
    np.testing.assert_array_equal(a, (x - 0.5) / 0.25)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    x0 = x.copy()
    _run(Normalize([0.5], [0.25], inplace=True), x)
    np.testing.assert_array_equal(x, x0)  # the reference is pure: nothing passed in changes


@pytest.mark.parametrize("shape,mean,std", [((3, 2, 2), *IMAGENET), ((2, 3, 2, 3), *IMAGENET),
                                            ((2, 2, 3), [0.5], [-2.0]), ((1, 2, 2), 0.1, 3.0)])
def test_normalize_backward(shape, mean, std):
    m = Normalize(mean, std)
    x = rng.normal(size=shape)
    y, ctx = _run(m, x)
    g = rng.normal(size=y.shape)
    (gx,), pg = m.backward(ctx, (g,))
    assert pg == {}
    assert_vjp_matches(lambda v: _run(m, v)[0], [x], g, [gx])
    s = m.error_scales(ctx, (g,))
    assert np.all(np.abs(y) <= s.outputs[0] * (1 + 1e-15)) and s.input_grads == (None,)


def test_normalize_zero_std_after_conversion_to_the_input_dtype():
    x = np.ones((3, 2, 2))
    with pytest.raises(ValueError, match="std evaluated to zero after conversion to float64"):
        _run(Normalize([0.5] * 3, [0.5, 0.0, 1.0]), x)
    # 1e-46 is below float32's smallest subnormal / 2: zero in float32, fine in float64
    _run(Normalize([0.5], [1e-46]), x)
    for dt in ("float32", "float16", "bfloat16"):
        with pytest.raises(ValueError, match=f"conversion to {dt}"):
            _run(Normalize([0.5], [1e-46], input_dtype=dt), x)
    assert list(underflows_to_zero([2.0 ** -150, 2.0 ** -149], "float32")) == [True, False]
    assert list(underflows_to_zero([2.0 ** -25, 2.0 ** -24.9], "float16")) == [True, False]
    assert list(underflows_to_zero([2.0 ** -134, 2.0 ** -133], "bfloat16")) == [True, False]
    assert list(underflows_to_zero([0.0, 5e-324], "float64")) == [True, False]
    # numpy agrees where it has the dtype
    for v in (2.0 ** -150, 2.0 ** -149.5, 2.0 ** -149):
        assert underflows_to_zero(v, "float32") == (np.float32(v) == 0)
    for v in (2.0 ** -25, 2.0 ** -24.5, 2.0 ** -24):
        assert underflows_to_zero(v, "float16") == (np.float16(v) == 0)
    with pytest.raises(ValueError, match="unknown dtype"):
        underflows_to_zero(1.0, "int8")


def test_normalize_errors():
    with pytest.raises(TypeError, match="Input tensor should be a float tensor"):
        _run(Normalize([0.5], [0.5]), np.zeros((3, 2, 2), np.uint8))
    with pytest.raises(ValueError, match=r"tensor image of size \(\.\.\., C, H, W\)"):
        _run(Normalize([0.5], [0.5]), np.zeros((3, 4)))
    with pytest.raises(RuntimeError, match=r"size of tensor a \(3\) must match the size of "
                                           r"tensor b \(2\) at non-singleton dimension 0"):
        _run(Normalize([0.5, 0.5], [1.0, 1.0]), np.zeros((3, 2, 2)))
    with pytest.raises(RuntimeError, match="at non-singleton dimension 1"):
        _run(Normalize([0.5], [1.0, 2.0]), np.zeros((2, 3, 2, 2)))
