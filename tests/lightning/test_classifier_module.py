"""ClassifierModule: augmentation order, hook + mixer target composition, evaluation path."""

from __future__ import annotations

import torch
from torch import nn

from torchaug.hooks import MoEx
from torchaug.lightning import ClassifierModule
from torchaug.mixing import MixUp, mix_targets, one_hot
from torchaug.models import SmallCNN
from torchaug.transforms import Compose, RandomHorizontalFlip


def _module(**kw) -> ClassifierModule:
    return ClassifierModule(SmallCNN(3, 4, width=8), num_classes=4, mean=[0.5] * 3, std=[0.25] * 3, **kw)


def test_augment_runs_transforms_then_mixer_then_normalises():
    m = _module(transforms=Compose([RandomHorizontalFlip(p=1.0)]), mixer=MixUp(alpha=1.0, num_classes=4))
    m.aug_generator = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (6, 3, 8, 8), dtype=torch.uint8)
    y = torch.tensor([0, 1, 2, 3, 0, 1])
    xa, ya = m.augment(x, y)
    g = torch.Generator().manual_seed(0)
    by_hand = m.transforms(x, generator=g)
    assert torch.equal(by_hand, x.flip(-1))
    x2, y2 = m.mixer(by_hand.float() / 255, y, generator=g)
    torch.testing.assert_close(xa, (x2 - 0.5) / 0.25, rtol=0, atol=0)
    torch.testing.assert_close(ya, y2, rtol=0, atol=0)
    torch.testing.assert_close(ya.sum(1), torch.ones(6))


def test_prepare_is_the_eval_path():
    m = _module()
    x = torch.full((2, 3, 4, 4), 255, dtype=torch.uint8)
    torch.testing.assert_close(m.prepare(x), torch.full((2, 3, 4, 4), 2.0))


def test_hook_reuses_the_mixer_pairing_and_targets_compose_in_order():
    torch.manual_seed(0)
    m = _module(mixer=MixUp(alpha=1.0, num_classes=4), share_mixer_perm=True,
                hook=lambda model: MoEx(model, layer="layer1", where="input", p=1.0, lam=0.5))
    m.aug_generator = torch.Generator().manual_seed(1)
    x = torch.randint(0, 256, (8, 3, 8, 8), dtype=torch.uint8)
    y = torch.arange(8) % 4
    xa, y_mixed = m.augment(x, y)
    perm = m._mixer_perm
    seen = []
    original = m.compute_loss
    m.compute_loss = lambda logits, targets: seen.append(targets) or original(logits, targets)
    m.log = lambda *a, **kw: None
    m.train()
    loss = m.training_step((xa, y_mixed), 0)
    hook_params = m.hook.last_params
    assert torch.equal(hook_params["perm"], perm)  # the hook reused the mixer's pairing
    # targets composed in order: mixer first, then the hook on the mixed targets
    torch.testing.assert_close(seen[0], mix_targets(y_mixed, perm, hook_params["lam"]))
    assert torch.isfinite(loss)


def test_without_augmenters_targets_are_one_hot_with_smoothing():
    m = _module(label_smoothing=0.1)
    m.aug_generator = None
    _, ya = m.augment(torch.zeros(3, 3, 4, 4, dtype=torch.uint8), torch.tensor([0, 1, 2]))
    torch.testing.assert_close(ya, one_hot(torch.tensor([0, 1, 2]), 4, label_smoothing=0.1))
    assert isinstance(m.model, nn.Module)


def test_augmix_splits_train_with_the_jsd_loss():
    import pytest

    from torchaug.mixing import JsdCrossEntropy
    from torchaug.transforms import AugMix

    m = _module(transforms=Compose([RandomHorizontalFlip(p=0.5), AugMix(num_splits=3)]), num_splits=3, jsd_alpha=12.0,
                label_smoothing=0.1)
    m.aug_generator = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (4, 3, 8, 8), dtype=torch.uint8)
    y = torch.tensor([0, 1, 2, 3])
    xa, ya = m.augment(x, y)
    assert xa.shape == (12, 3, 8, 8) and ya.shape == (12, 4)
    torch.testing.assert_close(ya, one_hot(y, 4, label_smoothing=0.1).repeat(3, 1))
    assert isinstance(m.criterion, JsdCrossEntropy)
    m.log = lambda *a, **kw: None
    m.train()
    loss = m.training_step((xa, ya), 0)
    logits = m(xa)
    # the same value as timm's loss with smoothing 0.1 on the int labels of the clean split
    torch.testing.assert_close(loss, JsdCrossEntropy(3, 12.0, 0.1)(logits, y), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="split batch"):
        _module(transforms=Compose([RandomHorizontalFlip(p=0.5)]), num_splits=3).augment(x, y)
    with pytest.raises(ValueError, match="num_splits"):
        _module(num_splits=1)
    with pytest.raises(ValueError, match="mixer"):
        _module(num_splits=3, mixer=MixUp(alpha=1.0, num_classes=4))
