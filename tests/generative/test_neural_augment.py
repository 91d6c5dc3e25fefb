"""Neural augmentation (Perez & Wang 2017): same-class pair sampler, augmentation network, joint training."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from torchaug.generative.neural_augment import AugmentationNet, NeuralAugment, relative_gram_loss, same_class_partner
from torchaug.generative.style import gram_matrix
from gen_support import fit, one_thread  # noqa: F401


def _classifier(c: int = 3, k: int = 2) -> nn.Module:
    return nn.Sequential(nn.Conv2d(c, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, k))


def test_pair_sampler_only_pairs_same_class_images():
    g = torch.Generator().manual_seed(0)
    for trial in range(20):
        y = torch.randint(0, 4, (int(torch.randint(1, 40, (1,), generator=g)),), generator=g)
        partner = same_class_partner(y, g)
        assert partner.shape == y.shape and partner.dtype == torch.long
        assert torch.equal(y[partner], y)
        counts = torch.bincount(y, minlength=4)
        # a sample is its own partner only when its class occurs once
        self_paired = partner == torch.arange(len(y))
        assert torch.equal(self_paired, counts[y] == 1)
        # each class's pairing is a permutation (a cycle), so every sample is someone's partner
        assert torch.equal(torch.sort(partner).values, torch.arange(len(y)))


def test_pair_sampler_is_random_and_seeded():
    y = torch.tensor([0] * 10 + [1] * 10)
    a = same_class_partner(y, torch.Generator().manual_seed(1))
    b = same_class_partner(y, torch.Generator().manual_seed(1))
    c = same_class_partner(y, torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    with pytest.raises(ValueError, match="same_class_partner"):
        same_class_partner(torch.zeros(3))


def test_augmentation_net_is_the_papers_shape():
    net = AugmentationNet(3)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 5 and all(m.kernel_size == (3, 3) for m in convs)
    assert convs[0].in_channels == 6 and convs[-1].out_channels == 3 and all(m.out_channels == 16 for m in convs[:-1])
    out = net(torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8))
    assert out.shape == (2, 3, 8, 8) and float(out.min()) >= 0 and float(out.max()) <= 1


def _data(n=32, size=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.randint(0, 100, (n, 3, size, size), generator=g, dtype=torch.uint8)
    x[y == 1, 0] += 150
    return x, y


@pytest.mark.parametrize("aug_loss", ["none", "content", "style"])
def test_training_changes_the_augmentation_net_and_its_output_is_new(aug_loss, tmp_path):
    x, y = _data()
    torch.manual_seed(0)
    m = NeuralAugment(_classifier(), num_classes=2, sample_shape=(3, 8, 8), aug_loss=aug_loss,
                      mean=[0.5] * 3, std=[0.25] * 3)
    before = [p.detach().clone() for p in m.augnet.parameters()]
    fit(m, x, y, epochs=2, root=tmp_path, batch_size=16)
    assert any(not torch.equal(a, b) for a, b in zip(before, m.augnet.parameters()))
    with torch.no_grad():
        out, partner, _ = m.augment(x, y, torch.Generator().manual_seed(0))
    x01 = x.float() / 255
    assert torch.equal(y[partner], y)
    assert ((out - x01).flatten(1).abs().amax(1) > 1e-3).all()
    assert ((out - x01[partner]).flatten(1).abs().amax(1) > 1e-3).all()
    if aug_loss == "style":
        assert m.encoder is not None and not any(p.requires_grad for p in m.encoder.parameters())


def test_one_step_loss_combines_alpha_and_beta():
    x, y = _data(8)
    m = NeuralAugment(_classifier(), num_classes=2, sample_shape=(3, 8, 8), aug_loss="content", alpha=0.0, beta=1.0)
    torch.manual_seed(0)
    loss = m.training_step((x, y), 0)
    torch.manual_seed(0)
    out, _, target = m.augment(x, y)
    torch.testing.assert_close(loss, torch.nn.functional.mse_loss(out, x.float()[target] / 255))
    loss.backward()
    assert all(p.grad is None for p in m.model.parameters()) or all(
        p.grad is None or float(p.grad.abs().sum()) == 0 for p in m.model.parameters())


def test_relative_gram_loss_is_scale_free():
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(3, 4, 5, 5, generator=g), torch.rand(3, 4, 5, 5, generator=g)
    ga, gb = gram_matrix(a), gram_matrix(b)
    direct = torch.stack([(ga[i] - gb[i]).pow(2).sum() / gb[i].pow(2).sum() for i in range(3)]).mean()
    torch.testing.assert_close(relative_gram_loss(a, b), direct)
    torch.testing.assert_close(relative_gram_loss(50 * a, 50 * b), direct)  # Gram scales by 2500 both sides
    assert float(relative_gram_loss(b, b)) == 0.0
    torch.testing.assert_close(relative_gram_loss(torch.zeros_like(a), b), torch.tensor(1.0))


def test_bad_arguments():
    with pytest.raises(ValueError, match="aug_loss"):
        NeuralAugment(_classifier(), num_classes=2, aug_loss="perceptual")
    with pytest.raises(ValueError, match="num_classes"):
        NeuralAugment(_classifier(), num_classes=1)
