"""Neural style transfer as augmentation: AdaIN, Gatys et al. optimisation, a trained AdaIN decoder, StyleAugment.

- :func:`calc_mean_std`, :func:`adain`, :func:`gram_matrix`: plain functions on ``(B, C, H, W)`` features.
- :func:`gatys_transfer`: Gatys, Ecker & Bethge (2016) optimisation transfer: content loss on encoder
  features, style loss on Gram matrices, total-variation loss; L-BFGS or Adam over the pixels.
- :class:`AdaINStyleTransfer` (Huang & Belongie 2017): fixed VGG-19 encoder, trainable mirrored decoder
  (nearest upsampling, reflection padding), loss ``content (to the AdaIN target) + lambda * style``
  (channel mean/std over the encoder's layers), strength ``alpha``.
- :class:`StyleAugment` (Jackson et al. 2019, "Style Augmentation"): a batch transform that stylises a random
  fraction ``p`` of a batch with styles from a bank or drawn from a Gaussian fitted to the bank's style
  statistics, strength ``alpha`` (default 0.5, the paper's setting).

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
from torch import Tensor, nn

from torchaug._validation import check_generator, check_images, check_probability, describe
from torchaug.generative._nets import from_unit, to_unit
from torchaug.generative._vgg import VGG19_RELU, VGGEncoder, _check_layers
from torchaug.registry import register

log = logging.getLogger(__name__)

__all__ = [
    "AdaINDecoder",
    "AdaINStyleTransfer",
    "StyleAugment",
    "adain",
    "calc_mean_std",
    "default_layers",
    "evaluate_style_transfer",
    "gatys_transfer",
    "gram_matrix",
    "load_style_images",
    "style_statistics",
]


# -- plain functions -----------------------------------------------------------------------------
def calc_mean_std(feat: Tensor, eps: float = 1e-5) -> tuple[Tensor, Tensor]:
    """Per-sample, per-channel mean and std over space: ``(B, C, H, W) -> ((B, C, 1, 1), (B, C, 1, 1))``.

    ``std = sqrt(var + eps)`` with the unbiased variance, as in Huang & Belongie's reference code.
    """
    if feat.ndim != 4:
        raise ValueError(f"calc_mean_std: feat must be (B, C, H, W); got {describe(feat)}")
    b, c = feat.shape[:2]
    flat = feat.reshape(b, c, -1)
    var = flat.var(dim=2, unbiased=flat.shape[2] > 1) + eps
    return flat.mean(dim=2).view(b, c, 1, 1), var.sqrt().view(b, c, 1, 1)


def adain(content_feats: Tensor, style_feats: Tensor, eps: float = 1e-5) -> Tensor:
    """Adaptive instance normalisation (Huang & Belongie 2017, eq. 8).

    ``sigma(s) * (c - mu(c)) / sigma(c) + mu(s)`` per sample and channel. ``content_feats (B, C, H, W)``;
    ``style_feats (B or 1, C, H', W')`` (spatial size may differ). Returns ``(B, C, H, W)``.
    """
    if content_feats.ndim != 4 or style_feats.ndim != 4 or content_feats.shape[1] != style_feats.shape[1]:
        raise ValueError(f"adain: content_feats and style_feats must be (B, C, H, W) with equal C; "
                         f"got {describe(content_feats)} and {describe(style_feats)}")
    s_mean, s_std = calc_mean_std(style_feats, eps)
    return adain_stats(content_feats, s_mean, s_std, eps)


def adain_stats(content_feats: Tensor, style_mean: Tensor, style_std: Tensor, eps: float = 1e-5) -> Tensor:
    """AdaIN with given target statistics ``style_mean``, ``style_std`` of shape ``(B or 1, C, 1, 1)`` or ``(B, C)``."""
    b, c = content_feats.shape[:2]
    style_mean, style_std = style_mean.reshape(-1, c, 1, 1), style_std.reshape(-1, c, 1, 1)
    c_mean, c_std = calc_mean_std(content_feats, eps)
    return (content_feats - c_mean) / c_std * style_std + style_mean


def gram_matrix(feat: Tensor, normalize: bool = True) -> Tensor:
    """Gram matrix ``G = F F^T`` of ``(B, C, H, W)`` features flattened to ``F (B, C, HW)``: ``(B, C, C)``.

    ``normalize`` divides by ``H * W`` (so the value does not grow with image size).
    """
    if feat.ndim != 4:
        raise ValueError(f"gram_matrix: feat must be (B, C, H, W); got {describe(feat)}")
    b, c, h, w = feat.shape
    f = feat.reshape(b, c, h * w)
    g = torch.bmm(f, f.transpose(1, 2))
    return g / (h * w) if normalize else g


def total_variation(x: Tensor) -> Tensor:
    """Mean squared difference between neighbouring pixels (horizontal + vertical) of ``(B, C, H, W)``."""
    return (x[..., 1:, :] - x[..., :-1, :]).pow(2).mean() + (x[..., :, 1:] - x[..., :, :-1]).pow(2).mean()


def default_layers(size: int) -> tuple[str, ...]:
    """Encoder layers for images of side ``size``: relu1_1..relu4_1 (>= 64), ..relu3_1 (32), ..relu2_1 (< 32)."""
    if size >= 64:
        return ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
    if size >= 32:
        return ("relu1_1", "relu2_1", "relu3_1")
    return ("relu1_1", "relu2_1")


def _rgb01(x: Tensor, owner: str, name: str = "x") -> tuple[Tensor, bool, int]:
    x, single = check_images(x, owner=owner, name=name)
    c = x.shape[1]
    if c not in (1, 3):
        raise ValueError(f"{owner}: {name} must have 1 or 3 channels; got {describe(x)}")
    x01 = to_unit(x).float()
    return (x01.expand(-1, 3, -1, -1) if c == 1 else x01), single, c


def gatys_transfer(
    content: Tensor,
    style: Tensor,
    encoder: VGGEncoder | None = None,
    content_layers: tuple[str, ...] | list[str] = ("relu2_1",),
    style_layers: tuple[str, ...] | list[str] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1"),
    content_weight: float = 1.0,
    style_weight: float = 10.0,
    tv_weight: float = 1.0,
    steps: int = 100,
    optimizer: str = "lbfgs",
    lr: float | None = None,
    init: str = "content",
    generator: torch.Generator | None = None,
) -> Tensor:
    """Gatys, Ecker & Bethge (2016) style transfer by optimising the pixels of the output image.

    Loss: ``content_weight * sum_l MSE(F_l(x), F_l(content))`` over ``content_layers`` +
    ``style_weight * sum_l MSE(G_l(x), G_l(style))`` (Gram matrices normalised by ``H * W``) over
    ``style_layers`` + ``tv_weight * total_variation(x)``. The paper's setting: conv4_2 content, conv1_1..conv5_1
    style, L-BFGS; here shallower defaults (relu2_1 content, relu1_1..relu4_1 style) suit small images.

    Args:
        content: ``(B, C, H, W)`` or ``(C, H, W)`` uint8 or float in [0, 1], C in {1, 3} (small batches).
        style: ``(B or 1, C, H', W')`` or ``(C, H', W')``.
        encoder: a :class:`VGGEncoder` with at least the deepest needed layer (built, seeded random, if None).
        steps: L-BFGS iterations (``optimizer="lbfgs"``, lr 1) or Adam steps (``"adam"``, lr 0.02).
        init: ``"content"`` (start from the content image) or ``"noise"`` (uniform noise from ``generator``).

    Returns the stylised images in ``content``'s dtype and shape (grey inputs give grey outputs).
    """
    owner = "gatys_transfer"
    c01, single, channels = _rgb01(content, owner, "content")
    s01, _, _ = _rgb01(style, owner, "style")
    if s01.shape[0] not in (1, c01.shape[0]):
        raise ValueError(f"{owner}: style must have batch size 1 or {c01.shape[0]}; got {describe(style)}")
    if optimizer not in ("lbfgs", "adam"):
        raise ValueError(f"{owner}: optimizer must be 'lbfgs' or 'adam'; got {optimizer!r}")
    if init not in ("content", "noise"):
        raise ValueError(f"{owner}: init must be 'content' or 'noise'; got {init!r}")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"{owner}: steps must be a positive int; got {steps!r}")
    content_layers, style_layers = _check_layers(content_layers, owner), _check_layers(style_layers, owner)
    wanted = _check_layers(content_layers + style_layers, owner)
    if encoder is None:
        encoder = VGGEncoder(wanted).to(c01.device)
    missing = [name for name in wanted if name not in encoder.layers]
    if missing:
        raise ValueError(f"{owner}: the encoder does not output {missing}; it has {list(encoder.layers)}")
    pos = {name: i for i, name in enumerate(encoder.layers)}
    with torch.no_grad():
        fc = encoder(c01)
        fs = encoder(s01)
        targets_c = [fc[pos[n]] for n in content_layers]
        targets_s = [gram_matrix(fs[pos[n]]).expand(c01.shape[0], -1, -1) for n in style_layers]
    if init == "content":
        x = c01.clone()
    else:
        x = torch.rand(c01.shape, generator=generator, device=c01.device)
    x.requires_grad_(True)

    def loss_fn() -> Tensor:
        f = encoder(x)
        lc = sum(F.mse_loss(f[pos[n]], t) for n, t in zip(content_layers, targets_c))
        ls = sum(F.mse_loss(gram_matrix(f[pos[n]]), t) for n, t in zip(style_layers, targets_s))
        return content_weight * lc + style_weight * ls + tv_weight * total_variation(x)

    if optimizer == "lbfgs":
        opt = torch.optim.LBFGS([x], lr=lr or 1.0, max_iter=steps, history_size=20, line_search_fn="strong_wolfe")

        def closure() -> Tensor:
            opt.zero_grad()
            loss = loss_fn()
            loss.backward()
            return loss

        opt.step(closure)
    else:
        opt = torch.optim.Adam([x], lr=lr or 0.02)
        for _ in range(steps):
            opt.zero_grad()
            loss_fn().backward()
            opt.step()
            with torch.no_grad():
                x.clamp_(0, 1)
    out = x.detach().clamp(0, 1)
    if channels == 1:
        out = out.mean(1, keepdim=True)
    out = from_unit(out, content.dtype)
    return out[0] if single else out


# -- style images -------------------------------------------------------------------------------
def load_style_images(source: Any = "sklearn", size: int = 128) -> Tensor:
    """Style images as a uint8 ``(N, 3, size, size)`` tensor (short side resized to ``size``, centre crop).

    ``source``: ``"sklearn"`` (scikit-learn's two sample photos, china.jpg and flower.jpg), a folder
    (every .jpg/.jpeg/.png below it), or a uint8/float ``(N, 3, H, W)`` tensor.
    """
    owner = "load_style_images"
    if isinstance(source, Tensor):
        imgs = [to_unit(check_images(source, owner=owner, name="source")[0])]
        imgs = list(imgs[0])
    elif source == "sklearn":
        from sklearn.datasets import load_sample_images

        imgs = [torch.from_numpy(a.copy()).permute(2, 0, 1).float().div(255) for a in load_sample_images().images]
    else:
        import numpy as np
        from PIL import Image

        folder = Path(str(source)).expanduser()
        files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        if not files:
            raise ValueError(f"{owner}: source must be 'sklearn', an image folder or a tensor; no images under {folder}")
        imgs = [torch.from_numpy(np.array(Image.open(p).convert("RGB"))).permute(2, 0, 1).float().div(255)
                for p in files]
    out = []
    for img in imgs:
        if img.shape[0] == 1:
            img = img.expand(3, -1, -1)
        h, w = img.shape[1:]
        scale = size / min(h, w)
        nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
        img = F.interpolate(img[None], size=(nh, nw), mode="bilinear", antialias=True, align_corners=False)[0]
        top, left = (nh - size) // 2, (nw - size) // 2
        out.append(img[:, top:top + size, left:left + size])
    return from_unit(torch.stack(out), torch.uint8)


def random_crops(bank: Tensor, n: int, size: int, generator: torch.Generator | None = None) -> Tensor:
    """``n`` random ``size x size`` crops of random images of ``bank (N, C, S, S)``, vectorised, on its device."""
    dev = bank.device
    num, c, hh, ww = bank.shape
    idx = torch.randint(0, num, (n,), generator=generator, device=dev)
    oy = torch.randint(0, hh - size + 1, (n,), generator=generator, device=dev)
    ox = torch.randint(0, ww - size + 1, (n,), generator=generator, device=dev)
    ar = torch.arange(size, device=dev)
    rows = (oy[:, None] + ar)[:, None, :, None]
    cols = (ox[:, None] + ar)[:, None, None, :]
    return bank[idx[:, None, None, None], torch.arange(c, device=dev)[None, :, None, None], rows, cols]


# -- decoder and module --------------------------------------------------------------------------
class AdaINDecoder(nn.Module):
    """The encoder mirrored: for every VGG conv (reversed) ``ReflectionPad(1) + Conv3x3 + ReLU``, for every
    max-pool a 2x nearest upsampling; the last conv maps to RGB without ReLU (Huang & Belongie 2017).

    ``(B, C_last, H / 2**k, W / 2**k) -> (B, 3, H, W)`` where ``k`` is the number of pools before the last layer.
    """

    __torchaug_public__ = False

    def __init__(self, last_layer: str = "relu4_1") -> None:
        super().__init__()
        from torchvision.models.vgg import cfgs

        depth, count, plan, c_in = VGG19_RELU[last_layer] + 1, 0, [], 3
        for v in cfgs["E"]:
            if count >= depth:
                break
            if v == "M":
                plan.append("M")
                count += 1
            else:
                plan.append((c_in, int(v)))
                c_in, count = int(v), count + 2
        layers: list[nn.Module] = []
        for i, step in enumerate(reversed(plan)):
            if step == "M":
                layers.append(nn.Upsample(scale_factor=2, mode="nearest"))
                continue
            cin, cout = step
            layers += [nn.ReflectionPad2d(1), nn.Conv2d(cout, cin, 3)]
            if i < len(plan) - 1:
                layers.append(nn.ReLU())
        self.net = nn.Sequential(*layers)
        self.downsample = 2 ** plan.count("M")

    def forward(self, t: Tensor) -> Tensor:
        return self.net(t)


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


# -- StyleAugment --------------------------------------------------------------------------------
def style_statistics(model: AdaINStyleTransfer, styles: Tensor) -> tuple[Tensor, Tensor]:
    """Channel mean and std ``(N, C)`` of ``styles`` (N, 3, H, W) at the model's last encoder layer."""
    s01, _, _ = _rgb01(styles, "style_statistics", "styles")
    with torch.no_grad():
        m, s = calc_mean_std(model.encode(s01.to(model.device))[-1])
    return m.flatten(1), s.flatten(1)


def _example() -> "StyleAugment":
    g = torch.Generator().manual_seed(0)
    styles = torch.rand(3, 3, 16, 16, generator=g)
    return StyleAugment(AdaINStyleTransfer((3, 16, 16), layers=("relu1_1",), styles=styles, style_size=16),
                        styles=styles, p=0.5)


@register("transform", example=_example)
class StyleAugment(nn.Module):
    """Style augmentation (Jackson et al. 2019): stylise a random fraction ``p`` of a batch.

    Each selected image gets target style statistics (channel mean and std at the AdaIN layer) from a random
    image of the style bank (``mode="bank"``) or drawn from a multivariate Gaussian fitted to the bank's
    ``[mean, log std]`` vectors (``mode="gaussian"``, the paper's style-embedding distribution); the features are
    AdaIN-ed to them, mixed with the content features by ``alpha`` (paper default 0.5) and decoded by the trained
    AdaIN decoder. Images not selected pass through unchanged. Runs on the device, vectorised (the whole batch is
    encoded; no host sync); parameters draw from ``generator`` on the data's device.

    Args:
        model: a trained :class:`AdaINStyleTransfer` or the path of its checkpoint.
        styles: style images ``(N, 3, H, W)`` (uint8/float), a source for :func:`load_style_images`, or None
            (the model's style bank).
        p: probability that an image is stylised.
        alpha: style strength in [0, 1].
        mode: ``"bank"`` or ``"gaussian"``.

    ``forward(x, generator=None)``: ``(B, C, H, W)`` or ``(C, H, W)`` uint8 or float in [0, 1], C in {1, 3}
    (grey images are stylised as RGB and returned grey); H, W divisible by the decoder's upsampling factor.
    """

    def __init__(
        self,
        model: AdaINStyleTransfer | str | Path,
        styles: Any = None,
        p: float = 0.5,
        alpha: float = 0.5,
        mode: str = "bank",
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        if isinstance(model, (str, Path)):
            model = AdaINStyleTransfer.from_checkpoint(model)
        if not isinstance(model, AdaINStyleTransfer):
            raise TypeError(f"{owner}: model must be an AdaINStyleTransfer or a checkpoint path; got {type(model).__name__}")
        self.p = check_probability(p, owner=owner, name="p")
        self.alpha = check_probability(alpha, owner=owner, name="alpha")
        if mode not in ("bank", "gaussian"):
            raise ValueError(f"{owner}: mode must be 'bank' or 'gaussian'; got {mode!r}")
        self.mode = mode
        model.eval().requires_grad_(False)
        self.model = model
        if styles is None:
            bank = model.style_bank
        elif isinstance(styles, Tensor):
            bank = styles
        else:
            bank = load_style_images(styles, size=max(model.sample_shape[1:]))
        mean, std = style_statistics(model, bank)
        self.register_buffer("style_mean", mean)
        self.register_buffer("style_std", std)
        vec = torch.cat([mean, std.log()], 1).double()
        mu = vec.mean(0)
        cov = (vec - mu).T @ (vec - mu) / max(len(vec) - 1, 1)
        cov = cov + torch.eye(len(mu), dtype=cov.dtype) * (1e-4 + 1e-3 * cov.diagonal().mean())
        self.register_buffer("gauss_mean", mu.float())
        self.register_buffer("gauss_chol", torch.linalg.cholesky(cov).float())

    def train(self, mode: bool = True) -> "StyleAugment":
        super().train(mode)
        self.model.eval()
        return self

    def sample_styles(self, n: int, device: torch.device, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """``n`` target ``(mean, std)`` pairs, each ``(n, C)``, from the bank or the fitted Gaussian."""
        if self.mode == "bank":
            idx = torch.randint(0, self.style_mean.shape[0], (n,), generator=generator, device=device)
            return self.style_mean.to(device)[idx], self.style_std.to(device)[idx]
        z = torch.randn(n, self.gauss_mean.shape[0], generator=generator, device=device)
        v = self.gauss_mean.to(device) + z @ self.gauss_chol.to(device).T
        c = self.style_mean.shape[1]
        return v[:, :c], v[:, c:].exp()

    @torch.no_grad()
    def forward(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        owner = type(self).__name__
        x4, single = check_images(x, owner=owner)
        check_generator(generator, x4.device, owner=owner)
        if x4.device != self.style_mean.device:  # free (no sync); torch would fail deep inside the encoder
            raise ValueError(f"{owner}: x must be on the module's device {self.style_mean.device}; got {x4.device}")
        if x4.shape[1] not in (1, 3):
            raise ValueError(f"{owner}: x must have 1 or 3 channels; got {describe(x)}")
        k = self.model.decoder.downsample
        if x4.shape[-1] % k or x4.shape[-2] % k:
            raise ValueError(f"{owner}: x height and width must be divisible by {k}; got {describe(x)}")
        if min(x4.shape[-2:]) < 2 * k:  # the encoder's reflection padding needs 2+ pixels at its deepest layer
            raise ValueError(f"{owner}: x height and width must be at least {2 * k}; got {describe(x)}")
        b, dev = x4.shape[0], x4.device
        chosen = torch.rand(b, generator=generator, device=dev) < self.p
        mean, std = self.sample_styles(b, dev, generator)
        x01 = to_unit(x4).float()
        rgb = x01.expand(-1, 3, -1, -1) if x4.shape[1] == 1 else x01
        fc = self.model.encode(rgb)[-1]
        t = self.alpha * adain_stats(fc, mean, std) + (1 - self.alpha) * fc
        out = self.model.decode(t).clamp(0, 1)
        if x4.shape[1] == 1:
            out = out.mean(1, keepdim=True)
        out = torch.where(chosen.view(-1, 1, 1, 1), out.to(x01.dtype), x01)
        out = from_unit(out, x4.dtype) if x4.dtype == torch.uint8 else torch.where(chosen.view(-1, 1, 1, 1), out.to(x4.dtype), x4)
        return out[0] if single else out
