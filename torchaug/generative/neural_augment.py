"""Neural augmentation (Perez & Wang 2017, "The Effectiveness of Data Augmentation in Image Classification
using Deep Learning"): a small augmentation network, trained jointly with the classifier, that merges two
images of the same class into a new training image.

Augmentation network (the paper's): 5 conv layers, 16 channels, 3x3 kernels, ReLU; input two same-class
images concatenated on channels ``(B, 2C, H, W)``, output one image ``(B, C, H, W)`` (a sigmoid keeps it in
[0, 1]). Loss ``alpha * classification + beta * augmentation loss``; the classification loss is the
cross-entropy of the classifier on the real batch and on the augmented batch (labels of the inputs), and it
back-propagates into the augmentation network too. Augmentation losses: ``"none"``, ``"content"`` (MSE between
the output and a third image of the same class) and ``"style"`` (squared distance between Gram matrices of
encoder features of the output and of that third image, relative to the target's squared Gram norm
(:func:`relative_gram_loss`), averaged over relu1_1 and relu2_1 of the seeded random VGG-19 of :mod:`._vgg`, or of
the ImageNet one with ``style_weights="imagenet"``). The relative form keeps the style loss on the scale of the
content loss (about 0.01 to 1) whatever the encoder's activation scale: the raw Gram MSE on the random VGG is
about 200 per batch and swamps the classification loss.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from torchaug._validation import check_images, describe
from torchaug.generative._nets import to_unit
from torchaug.generative._vgg import VGGEncoder
from torchaug.generative.gatys import gram_matrix

__all__ = ["AugmentationNet", "NeuralAugment", "relative_gram_loss", "same_class_partner"]


def relative_gram_loss(feat: Tensor, target_feat: Tensor, eps: float = 1e-8) -> Tensor:
    """``mean_b ||G(feat_b) - G(target_b)||^2 / ||G(target_b)||^2`` with :func:`gram_matrix` (normalised by H*W).

    ``feat``, ``target_feat``: ``(B, C, H, W)``. 0 when the Gram matrices agree, 1 when ``feat`` is all zeros; the
    value does not depend on the features' overall scale.
    """
    go, gt = gram_matrix(feat), gram_matrix(target_feat)
    return ((go - gt).pow(2).sum((1, 2)) / gt.pow(2).sum((1, 2)).clamp_min(eps)).mean()


def same_class_partner(y: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """For each sample a random other sample of the same class: ``(B,)`` int64 indices into the batch.

    Vectorised on ``y``'s device, no host sync: samples are put in a random order, grouped by class (stable
    sort), and each is paired with the next one of its group (the last with the first). A sample whose class
    occurs once in the batch is paired with itself.
    """
    if not isinstance(y, Tensor) or y.ndim != 1 or y.dtype.is_floating_point:
        raise ValueError(f"same_class_partner: y must be (B,) integer class indices; got {describe(y)}")
    b, dev = y.shape[0], y.device
    if b == 0:
        return torch.zeros(0, dtype=torch.long, device=dev)
    shuffle = torch.randperm(b, generator=generator, device=dev)
    order = shuffle[torch.argsort(y[shuffle], stable=True)]
    ys = y[order]
    idx = torch.arange(b, device=dev)
    is_start = torch.ones(b, dtype=torch.bool, device=dev)
    is_start[1:] = ys[1:] != ys[:-1]
    start = torch.cummax(torch.where(is_start, idx, torch.zeros_like(idx)), 0).values
    nxt = (idx + 1).clamp(max=b - 1)
    same_next = (idx + 1 < b) & (ys[nxt] == ys)
    partner_sorted = torch.where(same_next, idx + 1, start)
    partner = torch.empty_like(order)
    partner[order] = order[partner_sorted]
    return partner


class AugmentationNet(nn.Module):
    """Perez & Wang's augmentation network: ``(B, 2C, H, W) -> (B, C, H, W)``, 5 x Conv3x3 (16 channels), ReLU."""

    __torchaug_public__ = False

    def __init__(self, channels: int = 3, width: int = 16, depth: int = 5) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = 2 * channels
        for _ in range(depth - 1):
            layers += [nn.Conv2d(c, width, 3, padding=1), nn.ReLU(inplace=True)]
            c = width
        layers.append(nn.Conv2d(c, channels, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, a01: Tensor, b01: Tensor) -> Tensor:
        return torch.sigmoid(self.net(torch.cat([a01, b01], 1)))


class NeuralAugment(L.LightningModule):
    """Classifier and augmentation network trained jointly (Perez & Wang 2017).

    Batches: ``(x uint8 (B, C, H, W), y int64 (B,))``. Each training step: optional traditional ``transforms``
    on ``x``; for every image ``a`` draw a same-class partner ``b`` and a same-class target ``t``
    (:func:`same_class_partner`, on the device); ``a' = augnet(a, b)``; classifier on ``[a; a']`` with labels
    ``[y; y]``; loss ``alpha * CE + beta * L_aug`` (``L_aug = 0`` for ``aug_loss="none"``).

    Args:
        model: classifier ``(B, C, H, W) -> (B, K)`` on normalised images (injected by the builder).
        num_classes: ``K``.
        sample_shape: ``(C, H, W)``.
        aug_loss: ``"none"``, ``"content"`` or ``"style"``.
        alpha, beta: weights of the classification and augmentation losses.
        optimizer: ``params -> Optimizer`` partial (Adam lr 1e-3 when None).
        transforms: traditional augmentation ``(x uint8, generator=) -> x`` applied before the network, or None.
        mean, std: per-channel normalisation of the classifier's input.
        style_weights: encoder weights for the style loss (None: seeded random VGG-19; ``"imagenet"``: local file).
        seed: seed of the random encoder.
    """

    def __init__(
        self,
        model: nn.Module,
        num_classes: int,
        sample_shape: Sequence[int] = (3, 32, 32),
        aug_loss: str = "content",
        alpha: float = 0.3,
        beta: float = 0.7,
        optimizer: Callable[..., torch.optim.Optimizer] | None = None,
        transforms: Callable[..., Tensor] | None = None,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        style_weights: str | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        if aug_loss not in ("none", "content", "style"):
            raise ValueError(f"{owner}: aug_loss must be 'none', 'content' or 'style'; got {aug_loss!r}")
        if not (alpha >= 0 and beta >= 0):
            raise ValueError(f"{owner}: alpha and beta must be >= 0; got alpha={alpha!r}, beta={beta!r}")
        if not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"{owner}: num_classes must be an int >= 2; got {num_classes!r}")
        self.save_hyperparameters(ignore=["model", "optimizer", "transforms"])
        c = int(sample_shape[0])
        self.model, self.num_classes, self.channels = model, num_classes, c
        self.augnet = AugmentationNet(c)
        self.aug_loss, self.alpha, self.beta = aug_loss, float(alpha), float(beta)
        self.optimizer_factory, self.transforms = optimizer, transforms
        self.encoder = (VGGEncoder(("relu1_1", "relu2_1"), weights=style_weights, seed=seed, in_channels=c)
                        if aug_loss == "style" else None)
        self.register_buffer("mean", None if mean is None else torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", None if std is None else torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def normalize(self, x01: Tensor) -> Tensor:
        return x01 if self.mean is None else (x01 - self.mean) / self.std

    def forward(self, x: Tensor) -> Tensor:
        """Classifier logits of uint8 or [0, 1] float images."""
        return self.model(self.normalize(to_unit(x)))

    def augment(self, x: Tensor, y: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """``(a', partner, target)``: merged float images in [0, 1] and the indices used (gradients kept)."""
        x4, _ = check_images(x, owner="NeuralAugment.augment", allow_single=False)
        x01 = to_unit(x4).float()
        partner = same_class_partner(y, generator)
        target = same_class_partner(y, generator)
        return self.augnet(x01, x01[partner]), partner, target

    def _aug_loss(self, out: Tensor, target01: Tensor) -> Tensor:
        if self.aug_loss == "content":
            return F.mse_loss(out, target01)
        if self.aug_loss == "style":
            fo, ft = self.encoder(out), self.encoder(target01)
            return sum(relative_gram_loss(a, b) for a, b in zip(fo, ft)) / len(fo)
        return out.new_zeros(())

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        x, y = batch
        if self.transforms is not None:
            x = self.transforms(x)
        x01 = to_unit(x).float()
        out, _, target = self.augment(x01, y)
        logits = self.model(self.normalize(torch.cat([x01, out])))
        yy = torch.cat([y, y])
        lc = F.cross_entropy(logits, yy)
        la = self._aug_loss(out, x01[target])
        loss = self.alpha * lc + self.beta * la
        n = x.shape[0]
        self.log("train/loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=n)
        self.log("train/cls_loss", lc, on_step=False, on_epoch=True, batch_size=n)
        self.log("train/aug_loss", la, on_step=False, on_epoch=True, batch_size=n)
        self.log("train/acc", (logits[:n].argmax(1) == y).float().mean(), on_step=False, on_epoch=True, batch_size=n)
        return loss

    def _eval_step(self, batch: tuple[Tensor, Tensor], stage: str) -> None:
        x, y = batch
        logits = self(x)
        self.log(f"{stage}/loss", F.cross_entropy(logits, y), prog_bar=stage == "val", batch_size=x.shape[0])
        self.log(f"{stage}/acc", (logits.argmax(1) == y).float().mean(), prog_bar=stage == "val", batch_size=x.shape[0])

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self._eval_step(batch, "val")

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        """Test accuracy of the classifier on un-augmented images (``test/acc``)."""
        self._eval_step(batch, "test")

    def configure_optimizers(self) -> torch.optim.Optimizer:
        params = [p for p in self.parameters() if p.requires_grad]
        return torch.optim.Adam(params, lr=1e-3) if self.optimizer_factory is None else self.optimizer_factory(params)
