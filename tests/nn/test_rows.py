"""nn.rows: the column-by-column row operations give NumPy's own results."""

import numpy as np
import pytest

from neuralab.nn.rows import MIN_SIZE, add_to_rows, by_row, row_argmax, row_max, row_sum

SHAPES = [(3, 5), (4, 700, 2), (2, 300, 7), (1, 100, 3), (2, 50, 40)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_ops_equal_numpy(shape: tuple[int, ...], dtype: type) -> None:
    z = np.random.default_rng(0).normal(size=shape).astype(dtype)
    v = np.random.default_rng(1).normal(size=shape[:-1]).astype(dtype)
    np.testing.assert_array_equal(row_max(z), z.max(axis=-1))
    np.testing.assert_array_equal(row_argmax(z), z.argmax(axis=-1))
    np.testing.assert_array_equal(by_row(np.subtract, z, v), z - v[..., None])
    np.testing.assert_array_equal(by_row(np.divide, z, v), z / v[..., None])
    np.testing.assert_allclose(row_sum(z), z.sum(axis=-1), rtol=1e-5 if dtype == np.float32
                               else 1e-12)


def test_row_argmax_ties_and_nan_as_numpy() -> None:
    """A tie picks the first column; a NaN row gives the first NaN's column, as argmax."""
    z = np.zeros((3, MIN_SIZE, 3))
    z[0, :, 1] = z[0, :, 2] = 1.0  # ties between columns 1 and 2
    z[1, 0] = [0.0, np.nan, np.nan]
    z[1, 1] = [np.nan, 5.0, 0.0]
    z[2, 2] = [1.0, 2.0, np.inf]
    got = row_argmax(z)
    np.testing.assert_array_equal(got, z.argmax(axis=-1))
    assert got[0, 0] == 1 and got[1, 0] == 1 and got[1, 1] == 0 and got[2, 2] == 2


@pytest.mark.parametrize("shape", [(800, 20), (50, 800, 2), (50, 800, 20), (7, 13, 3),
                                   (1, 5), (3, 1, 20), (4, 797, 2), (2, 64, 400)])
def test_add_to_rows_equals_the_broadcast_add(shape: tuple[int, ...]) -> None:
    """A bias added k rows at a time gives the broadcast sum bit for bit (a prime row
    count, a single row and rows wider than a tile take the plain broadcast)."""
    rng = np.random.default_rng(2)
    out = rng.normal(size=shape).astype(np.float32)
    b = rng.normal(size=(shape[0], shape[-1]) if len(shape) == 3 else shape[-1]).astype(
        np.float32)
    expected = out + (b if b.ndim == 1 else b[:, None, :])
    add_to_rows(out, b)
    np.testing.assert_array_equal(out, expected)


def test_add_to_rows_on_a_strided_view_adds_in_place() -> None:
    """A non-contiguous ``out`` (a column slice) cannot be re-viewed: it is added to as is."""
    base = np.zeros((6, 8), np.float32)
    add_to_rows(base[:, :4], np.arange(4, dtype=np.float32))
    np.testing.assert_array_equal(base[:, :4], np.tile(np.arange(4), (6, 1)))
    assert not base[:, 4:].any()
