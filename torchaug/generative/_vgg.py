"""The style-transfer networks: the VGG-19 feature encoder (torchvision's ``vgg19`` truncated at a ReLU layer)
and the AdaIN decoder that mirrors it (:class:`AdaINDecoder`).

Two ways to get the encoder's weights, never a download:

- ``weights="imagenet"``: torchvision's ImageNet weights (``VGG19_Weights.IMAGENET1K_V1``) read from
  ``weights_path`` if given, else from torchvision's cache (``$TORCH_HOME/hub/checkpoints/vgg19-dcbb9e9d.pth``).
  Absent file: ``FileNotFoundError`` saying where to put it.
- ``weights=None`` (default): a fixed, seeded random-weight VGG-19 (He-normal init) with per-layer
  normalisation: every conv layer is rescaled so that each of its ReLU channels has mean activation 1
  on a fixed, seeded batch of noise images (the normalisation Gatys et al. 2016 applied to the trained
  VGG). Random networks suffice for optimisation-based texture/style synthesis (He, Wang & Hopcroft 2016;
  Ustyuzhaninov et al. 2016).

Inputs are float images in [0, 1]; the encoder applies ImageNet mean/std normalisation itself.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch
from torch import Tensor, nn

log = logging.getLogger(__name__)

# index of each ReLU in torchvision's vgg19().features
VGG19_RELU = {
    "relu1_1": 1, "relu1_2": 3, "relu2_1": 6, "relu2_2": 8, "relu3_1": 11, "relu3_2": 13, "relu3_3": 15,
    "relu3_4": 17, "relu4_1": 20, "relu4_2": 22, "relu4_3": 24, "relu4_4": 26, "relu5_1": 29,
}
VGG19_FILE = "vgg19-dcbb9e9d.pth"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def default_weights_path() -> Path:
    """Where torchvision caches the ImageNet VGG-19 weights (``torch.hub.get_dir()/checkpoints``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / VGG19_FILE


def _check_layers(layers: tuple[str, ...] | list[str], owner: str) -> tuple[str, ...]:
    if isinstance(layers, str):
        layers = (layers,)
    layers = tuple(layers)
    bad = [name for name in layers if name not in VGG19_RELU]
    if not layers or bad:
        raise ValueError(f"{owner}: layers must be names from {sorted(VGG19_RELU, key=VGG19_RELU.get)}; got {list(layers)}")
    return tuple(sorted(set(layers), key=VGG19_RELU.get))


class VGGEncoder(nn.Module):
    """Frozen VGG-19 ``features`` up to the deepest of ``layers``; ``forward`` returns the listed activations.

    Args:
        layers: ReLU names (``"relu1_1"``, ``"relu2_1"``, ``"relu3_1"``, ``"relu4_1"``, ...); outputs come
            in network order. AdaIN (Huang & Belongie 2017) uses relu1_1..relu4_1; for 32x32 images
            relu1_1..relu3_1 (relu3_1 is 8x8 there).
        weights: ``"imagenet"`` (local file only, see module docstring) or None (seeded random weights).
        weights_path: explicit path of a torchvision ``vgg19`` state dict.
        seed: seed of the random weights and of the normalisation batch.
        in_channels: 1 (grey images are repeated to RGB) or 3.

    Shapes: ``(B, C, H, W)`` float in [0, 1] -> list of ``(B, C_l, H / 2**s_l, W / 2**s_l)``.
    """

    __torchaug_public__ = False

    def __init__(
        self,
        layers: tuple[str, ...] | list[str] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1"),
        weights: str | None = None,
        weights_path: str | os.PathLike | None = None,
        seed: int = 0,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        from torchvision.models.vgg import cfgs, make_layers

        self.layers = _check_layers(layers, "VGGEncoder")
        if weights not in (None, "imagenet"):
            raise ValueError(f"VGGEncoder: weights must be None (seeded random VGG-19) or 'imagenet'; got {weights!r}")
        if in_channels not in (1, 3):
            raise ValueError(f"VGGEncoder: in_channels must be 1 or 3; got {in_channels!r}")
        self.in_channels = in_channels
        depth = VGG19_RELU[self.layers[-1]] + 1
        cfg, count = [], 0
        for v in cfgs["E"]:  # only the part of vgg19().features we use (same module indices)
            if count >= depth:
                break
            cfg.append(v)
            count += 1 if v == "M" else 2
        features = make_layers(cfg, batch_norm=False)
        if weights == "imagenet" or weights_path is not None:
            path = Path(weights_path) if weights_path is not None else default_weights_path()
            if not path.is_file():
                raise FileNotFoundError(
                    f"VGGEncoder: pretrained VGG-19 weights requested but {path} does not exist. Nothing is downloaded: "
                    f"put torchvision's ImageNet file {VGG19_FILE} (https://download.pytorch.org/models/{VGG19_FILE}) "
                    f"at {default_weights_path()} (torchvision's cache, $TORCH_HOME), or pass weights_path=<file>, "
                    f"or use weights=None for the seeded random-weight encoder."
                )
            state = torch.load(path, map_location="cpu", weights_only=True)
            state = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
            features.load_state_dict({k: v for k, v in state.items() if int(k.split(".")[0]) < len(features)})
            self.kind = f"vgg19 imagenet ({path})"
        else:
            self.kind = f"vgg19 random (seed {seed}, per-layer normalised)"
        self.features = features[:depth]
        for m in self.features:
            if isinstance(m, nn.ReLU):
                m.inplace = False
        if weights is None and weights_path is None:
            self._random_init(seed)
        self.features.requires_grad_(False)
        self.features.eval()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self._taps = {VGG19_RELU[name] for name in self.layers}
        self.channels = [self.features[VGG19_RELU[n] - 1].out_channels for n in self.layers]
        log.info("style encoder: %s, layers %s", self.kind, ",".join(self.layers))

    @torch.no_grad()
    def _random_init(self, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        h = torch.rand(4, 3, 64, 64, generator=g)
        h = (h - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        for m in self.features:
            if isinstance(m, nn.Conv2d):
                fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)
                m.bias.zero_()
                out = torch.relu(m(h))
                scale = out.mean((0, 2, 3))
                scale = torch.where(scale > 1e-8, 1.0 / scale, torch.ones_like(scale))
                m.weight.mul_(scale.view(-1, 1, 1, 1))
                m.bias.mul_(scale)
            h = m(h)

    def train(self, mode: bool = True) -> "VGGEncoder":
        super().train(mode)
        self.features.eval()  # frozen: always in eval mode
        return self

    def forward(self, x: Tensor) -> list[Tensor]:
        if x.shape[1] == 1 and self.in_channels == 1:
            x = x.expand(-1, 3, -1, -1)
        h = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        out = []
        for i, m in enumerate(self.features):
            h = m(h)
            if i in self._taps:
                out.append(h)
        return out


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
