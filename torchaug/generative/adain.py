"""AdaIN style transfer (Huang & Belongie 2017) as a LightningModule that trains the decoder.

- :func:`calc_mean_std` (:func:`torchaug.functional.moments.instance_moments` under the reference code's
  name), :func:`adain`, :func:`adain_stats` (from :mod:`torchaug.functional.moments`, the statistics MoEx
  shares).
- :class:`AdaINStyleTransfer`: fixed VGG-19 encoder, trainable mirrored decoder
  (:class:`~torchaug.generative._vgg.AdaINDecoder`), loss ``content (to the AdaIN target) + lambda * style``
  (channel mean/std over the encoder's layers), strength ``alpha``; :func:`evaluate_style_transfer`, the
  measured criterion; :func:`style_statistics`, a bank's channel statistics at the AdaIN layer.

The encoder (:class:`~torchaug.generative._vgg.VGGEncoder`) is torchvision's VGG-19: ImageNet weights from
a local file when asked for, else a fixed, seeded, per-layer normalised random-weight VGG-19. Layers: AdaIN's
relu1_1..relu4_1 at 64x64 and above; relu1_1..relu3_1 at 32x32 (relu4_1 would be 4x4); relu1_1..relu2_1
at 16x16 and below.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor

from torchaug._validation import describe
from torchaug.functional.moments import adain, adain_stats, instance_moments
from torchaug.generative._nets import from_unit, to_unit
from torchaug.generative._vgg import AdaINDecoder, VGGEncoder
from torchaug.generative.style_images import _rgb01, load_style_images, random_crops

log = logging.getLogger(__name__)

__all__ = [
    "AdaINStyleTransfer",
    "adain",
    "adain_stats",
    "calc_mean_std",
    "default_layers",
    "evaluate_style_transfer",
    "style_statistics",
]


def calc_mean_std(feat: Tensor, eps: float = 1e-5) -> tuple[Tensor, Tensor]:
    """Per-sample, per-channel mean and std over space: ``(B, C, H, W) -> ((B, C, 1, 1), (B, C, 1, 1))``.

    ``std = sqrt(var + eps)`` with the unbiased variance, as in Huang & Belongie's reference code; the
    shared kernel :func:`torchaug.functional.moments.instance_moments` (also behind MoEx's moments).
    """
    if not isinstance(feat, Tensor) or feat.ndim != 4:
        raise ValueError(f"calc_mean_std: feat must be (B, C, H, W); got {describe(feat)}")
    return instance_moments(feat, eps)


def default_layers(size: int) -> tuple[str, ...]:
    """Encoder layers for images of side ``size``: relu1_1..relu4_1 (>= 64), ..relu3_1 (32), ..relu2_1 (< 32)."""
    if size >= 64:
        return ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
    if size >= 32:
        return ("relu1_1", "relu2_1", "relu3_1")
    return ("relu1_1", "relu2_1")


class AdaINStyleTransfer(L.LightningModule):
    """AdaIN style transfer (Huang & Belongie 2017) as a LightningModule: trains the decoder.

    Training batches are ``(x uint8 (B, C, H, W), y)`` content images (labels ignored; grey images are repeated to
    RGB); each step draws ``B`` random ``H x W`` crops of the style bank as styles. Loss:
    ``||f(g(t)) - t||^2 + style_weight * sum_l (||mu(phi_l(g(t))) - mu(phi_l(s))||^2 + ||sigma(..) - sigma(..)||^2)``
    with ``t = AdaIN(f(c), f(s))`` at the deepest layer; the paper's ``lambda = 10``, Adam lr 1e-4.

    Args:
        sample_shape: ``(C, H, W)`` of the content images (injected by the training builder).
        layers: encoder layers (style loss over all, AdaIN at the last); default :func:`default_layers` of ``H``:
            relu1_1..relu3_1 at 32x32, relu1_1..relu4_1 at 64x64 and above.
        weights, weights_path: the encoder's weights (see :class:`VGGEncoder`; None = seeded random VGG-19).
        styles: style source for :func:`load_style_images` (``"sklearn"``, a folder, or a tensor).
        style_size: side of the square style images the crops are cut from.
        style_weight: ``lambda``.
        alpha: default strength of :meth:`stylize` (1 = full style).
        lr: Adam learning rate.
        decoder_from: path of an earlier AdaIN checkpoint whose decoder weights initialise this decoder (to train
            on with a fresh optimizer and schedule); None = random init.
        lr_schedule: ``"cosine"`` (decay to 0 over the run's optimizer steps, stepped per batch; the last
            weights are then not the noisy end of a constant-rate run) or ``"constant"``.
        seed: seed of the random encoder and of the held-out evaluation crops.
    """

    def __init__(
        self,
        sample_shape: tuple[int, int, int] | list[int] = (3, 32, 32),
        layers: tuple[str, ...] | list[str] | None = None,
        weights: str | None = None,
        weights_path: str | None = None,
        styles: Any = "sklearn",
        style_size: int = 128,
        style_weight: float = 10.0,
        alpha: float = 1.0,
        lr: float = 1e-4,
        lr_schedule: str = "cosine",
        decoder_from: str | Path | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        if lr_schedule not in ("cosine", "constant"):
            raise ValueError(f"{owner}: lr_schedule must be 'cosine' or 'constant'; got {lr_schedule!r}")
        self.lr_schedule = lr_schedule
        shape = tuple(int(s) for s in sample_shape)
        if len(shape) != 3 or shape[0] not in (1, 3):
            raise ValueError(f"{owner}: sample_shape must be (C, H, W) with C in {{1, 3}}; got {shape}")
        self.sample_shape = shape
        layers = tuple(layers) if layers is not None else default_layers(min(shape[1:]))
        self.save_hyperparameters(ignore=["styles"] if isinstance(styles, Tensor) else None)
        self.encoder = VGGEncoder(layers, weights=weights, weights_path=weights_path, seed=seed)
        self.layers = self.encoder.layers
        self.decoder = AdaINDecoder(self.layers[-1])
        if shape[1] % self.decoder.downsample or shape[2] % self.decoder.downsample:
            raise ValueError(f"{owner}: image side must be divisible by {self.decoder.downsample} for layers "
                             f"{list(self.layers)}; got {shape}")
        if decoder_from is not None:
            self._init_decoder(Path(decoder_from))
        self.style_weight, self.alpha, self.lr, self.seed = float(style_weight), float(alpha), float(lr), int(seed)
        bank = load_style_images(styles, size=max(style_size, *shape[1:]))
        self.register_buffer("style_bank", bank, persistent=False)
        log.info("AdaINStyleTransfer: encoder %s, layers %s, %d style images", self.encoder.kind,
                 ",".join(self.layers), len(bank))

    def _init_decoder(self, path: Path) -> None:
        owner = type(self).__name__
        if not path.is_file():
            raise FileNotFoundError(f"{owner}: decoder_from must be an AdaIN checkpoint file; {path} does not exist")
        state = torch.load(path, map_location="cpu", weights_only=False)
        state = {k[len("decoder."):]: v for k, v in state.get("state_dict", state).items() if k.startswith("decoder.")}
        mine = self.decoder.state_dict()
        if set(state) != set(mine) or any(state[k].shape != mine[k].shape for k in mine):
            raise ValueError(f"{owner}: decoder_from {path} holds no decoder for layers {list(self.layers)} "
                             f"(its decoder.* weights do not match this decoder's)")
        self.decoder.load_state_dict(state)
        log.info("AdaINStyleTransfer: decoder initialised from %s", path)

    # -- API --
    def encode(self, x01: Tensor) -> list[Tensor]:
        """Float RGB ``(B, 3, H, W)`` in [0, 1] -> encoder features at :attr:`layers`."""
        return self.encoder(x01)

    def decode(self, t: Tensor) -> Tensor:
        """Features at the last layer -> float images (unclamped)."""
        return self.decoder(t)

    def forward(self, content01: Tensor, style01: Tensor, alpha: float | None = None) -> tuple[Tensor, Tensor, list[Tensor]]:
        """Returns ``(g(t), t, f(style))``; ``t = alpha * AdaIN(f(c), f(s)) + (1 - alpha) * f(c)``."""
        a = self.alpha if alpha is None else alpha
        fc = self.encode(content01)[-1]
        fs = self.encode(style01)
        t = adain(fc, fs[-1])
        t = a * t + (1 - a) * fc
        return self.decode(t), t, fs

    def loss_terms(self, content01: Tensor, style01: Tensor) -> dict[str, Tensor]:
        g, t, fs = self(content01, style01, alpha=1.0)
        fg = self.encode(g)
        lc = F.mse_loss(fg[-1], t)
        ls = content01.new_zeros(())
        for a, b in zip(fg, fs):
            (ma, sa), (mb, sb) = calc_mean_std(a), calc_mean_std(b)
            ls = ls + F.mse_loss(ma, mb) + F.mse_loss(sa, sb)
        return {"loss": lc + self.style_weight * ls, "content": lc, "style": ls}

    @torch.no_grad()
    def stylize(self, content: Tensor, style: Tensor, alpha: float | None = None) -> Tensor:
        """Stylise ``content`` (B, C, H, W) with ``style`` (B or 1, 3 or 1, H', W'); returned in content's dtype."""
        c01, single, ch = _rgb01(content, "AdaINStyleTransfer.stylize", "content")
        s01, _, _ = _rgb01(style, "AdaINStyleTransfer.stylize", "style")
        out = self(c01.to(self.device), s01.to(self.device), alpha)[0].clamp(0, 1)
        if ch == 1:
            out = out.mean(1, keepdim=True)
        out = from_unit(out, content.dtype).to(content.device)
        return out[0] if single else out

    @torch.no_grad()
    def transfer_metrics(self, content01: Tensor, style01: Tensor, alpha: float = 1.0) -> dict[str, Tensor]:
        """The measured criterion, averaged over the batch.

        ``style_progress``: how far the stylised output's style statistics (channel mean/std at every layer)
        moved from the content's towards the style's: ``1 - d(out, style) / d(content, style)`` (1 = reached).
        ``content_distance``: ``||f(out) - f(content)|| / ||f(content)||`` at the last layer;
        ``target_distance``: the same for the AdaIN target ``t`` itself (the distance the loss asks for).
        """
        out, t, _ = self(content01, style01, alpha)
        out = out.clamp(0, 1)
        fo, fc, fs = self.encode(out), self.encode(content01), self.encode(style01)

        def stats(fl: list[Tensor]) -> Tensor:
            return torch.cat([torch.cat([m.flatten(1), s.flatten(1)], 1) for m, s in map(calc_mean_std, fl)], 1)

        so, sc, ss = stats(fo), stats(fc), stats(fs)
        progress = 1 - (so - ss).norm(dim=1) / (sc - ss).norm(dim=1).clamp_min(1e-8)
        dist = (fo[-1] - fc[-1]).flatten(1).norm(dim=1) / fc[-1].flatten(1).norm(dim=1).clamp_min(1e-8)
        tdist = (t - fc[-1]).flatten(1).norm(dim=1) / fc[-1].flatten(1).norm(dim=1).clamp_min(1e-8)
        return {"style_progress": progress.mean(), "content_distance": dist.mean(), "target_distance": tdist.mean()}

    # -- Lightning --
    def _batch(self, batch: Any, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        c01, _, _ = _rgb01(x, type(self).__name__)
        s = to_unit(random_crops(self.style_bank, c01.shape[0], c01.shape[-1], generator)).float()
        if c01.shape[-2] != c01.shape[-1]:
            s = F.interpolate(s, size=c01.shape[-2:], mode="bilinear", align_corners=False)
        return c01, s

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        c01, s01 = self._batch(batch)
        terms = self.loss_terms(c01, s01)
        for k, v in terms.items():
            self.log(f"train/{k}", v, on_step=False, on_epoch=True, prog_bar=k == "loss", batch_size=c01.shape[0])
        return terms["loss"]

    def _eval(self, batch: Any, batch_idx: int, stage: str) -> None:
        g = torch.Generator(device=self.style_bank.device).manual_seed(self.seed + batch_idx)
        c01, s01 = self._batch(batch, g)
        terms = {**self.loss_terms(c01, s01), **self.transfer_metrics(c01, s01)}
        for k, v in terms.items():
            self.log(f"{stage}/{k}", v, on_step=False, on_epoch=True, prog_bar=k == "loss", batch_size=c01.shape[0])

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self._eval(batch, batch_idx, "val")

    def test_step(self, batch: Any, batch_idx: int) -> None:
        """Held-out losses and the criterion (``test/style_progress``, ``test/content_distance``) on seeded crops."""
        self._eval(batch, batch_idx, "test")

    def configure_optimizers(self) -> Any:
        opt = torch.optim.Adam(self.decoder.parameters(), lr=self.lr)
        steps = self.trainer.estimated_stepping_batches if self._trainer is not None else float("inf")
        if self.lr_schedule == "constant" or not 0 < steps < float("inf"):
            return opt
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=int(steps))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["torchaug_generator"] = f"{type(self).__module__}.{type(self).__qualname__}"

    @classmethod
    def from_checkpoint(cls, path: str | Path, map_location: str | torch.device = "cpu") -> "AdaINStyleTransfer":
        """Load a trained module (decoder and settings) from a Lightning checkpoint."""
        # the checkpoint holds the trained decoder: do not read the file it was once initialised from
        return cls.load_from_checkpoint(str(path), map_location=map_location, decoder_from=None)


@torch.no_grad()
def evaluate_style_transfer(
    model: AdaINStyleTransfer, content: Tensor, alphas: tuple[float, ...] = (1.0, 0.5), seed: int = 0,
    batch_size: int = 64,
) -> dict[str, float]:
    """The measured criterion over ``content`` images (uint8/float ``(N, C, H, W)``) with seeded random crops of
    the model's style bank as styles: ``{f"{name}@alpha={a}": value}`` for
    :meth:`AdaINStyleTransfer.transfer_metrics`' quantities, averaged over batches."""
    model.eval()
    g = torch.Generator(device=model.style_bank.device).manual_seed(seed)
    sums: dict[str, float] = {}
    n = 0
    for start in range(0, len(content), batch_size):
        c01, s01 = model._batch(content[start:start + batch_size].to(model.device), g)
        for a in alphas:
            for k, v in model.transfer_metrics(c01, s01, alpha=a).items():
                sums[f"{k}@alpha={a}"] = sums.get(f"{k}@alpha={a}", 0.0) + float(v) * len(c01)
        n += len(c01)
    return {k: v / n for k, v in sums.items()}


def style_statistics(model: AdaINStyleTransfer, styles: Tensor) -> tuple[Tensor, Tensor]:
    """Channel mean and std ``(N, C)`` of ``styles`` (N, 3, H, W) at the model's last encoder layer."""
    s01, _, _ = _rgb01(styles, "style_statistics", "styles")
    with torch.no_grad():
        m, s = calc_mean_std(model.encode(s01.to(model.device))[-1])
    return m.flatten(1), s.flatten(1)
