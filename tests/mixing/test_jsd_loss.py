"""JsdCrossEntropy: equal to timm's on fixed inputs; soft targets; errors."""

from __future__ import annotations

import pytest
import torch

from torchaug.mixing import JsdCrossEntropy, one_hot

timm_loss = pytest.importorskip("timm.loss")


@pytest.mark.parametrize("num_splits, alpha, smoothing", [(3, 12, 0.1), (2, 12, 0.0), (3, 1.5, 0.3), (4, 12, None)])
def test_equals_timm(num_splits, alpha, smoothing):
    g = torch.Generator().manual_seed(num_splits)
    b, k = 8, 10
    logits = torch.randn(num_splits * b, k, generator=g) * 3
    y = torch.randint(0, k, (b,), generator=g).repeat(num_splits)  # timm's fast_collate repeats the targets
    ref = timm_loss.JsdCrossEntropy(num_splits=num_splits, alpha=alpha, smoothing=smoothing)(logits, y)
    ours = JsdCrossEntropy(num_splits=num_splits, alpha=alpha, smoothing=smoothing)(logits, y)
    torch.testing.assert_close(ours, ref, rtol=1e-6, atol=1e-6)
    # soft targets with the smoothing folded in give the same value; (B,) targets too
    s = smoothing or 0.0
    soft = one_hot(y, k, label_smoothing=s)
    torch.testing.assert_close(JsdCrossEntropy(num_splits, alpha, smoothing=0.0)(logits, soft), ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(JsdCrossEntropy(num_splits, alpha, smoothing)(logits, y[:b]), ref, rtol=1e-6, atol=1e-6)


def test_consistency_term_is_zero_for_identical_splits_and_gradients_flow():
    logits = torch.randn(4, 5).repeat(3, 1).requires_grad_()
    y = torch.arange(4) % 5
    loss = JsdCrossEntropy(3, 12, 0.0)(logits, y)
    torch.testing.assert_close(loss, torch.nn.functional.cross_entropy(logits[:4], y))
    loss.backward()
    assert logits.grad is not None and logits.grad[4:].abs().sum() < 1e-6  # only the CE on the clean split pulls


@pytest.mark.parametrize(
    "args, logits, target, err, match",
    [
        ((1,), torch.zeros(4, 3), torch.zeros(4, dtype=torch.long), ValueError, "num_splits"),
        ((3, -1.0), torch.zeros(6, 3), torch.zeros(2, dtype=torch.long), ValueError, "alpha"),
        ((3, 12, 1.0), torch.zeros(6, 3), torch.zeros(2, dtype=torch.long), ValueError, "smoothing"),
        ((3,), torch.zeros(7, 3), torch.zeros(7, dtype=torch.long), ValueError, "num_splits"),
        ((3,), torch.zeros(6, 3), torch.zeros(5, dtype=torch.long), ValueError, "rows"),
        ((3,), torch.zeros(6, 3), [0, 1], TypeError, "target"),
        ((3,), torch.zeros(6, 3), torch.zeros(2, 4), ValueError, "soft targets"),
    ],
)
def test_errors(args, logits, target, err, match):
    with pytest.raises(err, match=match):
        JsdCrossEntropy(*args)(logits, target)
