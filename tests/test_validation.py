import pytest
import torch

from torchaug._validation import _in_unit_range_bits, check_images

FLOATS = [torch.float32, torch.float64, torch.float16, torch.bfloat16]


@pytest.mark.parametrize("dtype", FLOATS)
def test_bit_pattern_range_check_agrees_with_the_values(dtype):
    x = torch.rand(4, 3, 5, 5, generator=torch.Generator().manual_seed(0)).to(dtype)
    x[0, 0, 0, 0], x[0, 0, 0, 1] = 1.0, 0.0
    assert _in_unit_range_bits(x) and _in_unit_range_bits(x.permute(0, 2, 3, 1))
    check_images(x, owner="T")
    for bad in [1.01, -1e-3, float("nan"), -float("nan"), float("inf"), -float("inf")]:
        z = x.clone()
        z[1, 1, 1, 1] = bad
        assert not _in_unit_range_bits(z)
        with pytest.raises(ValueError, match="x"):
            check_images(z, owner="T")


def test_negative_zero_is_accepted_by_the_exact_fallback():
    x = torch.rand(2, 1, 3, 3)
    x[0, 0, 0, 0] = -0.0
    assert not _in_unit_range_bits(x)
    assert check_images(x, owner="T")[0] is x
