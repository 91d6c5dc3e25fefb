"""torchvision's ImageNet classifiers (ResNet-50, ...) built for ``num_classes``, untrained."""

from __future__ import annotations

from torch import nn


def torchvision_model(arch: str = "resnet50", num_classes: int = 1000, in_channels: int = 3) -> nn.Module:
    """``torchvision.models.<arch>(weights=None, num_classes=num_classes)`` (He et al. 2016 for ResNets).

    ``in_channels`` other than 3 replaces the first convolution (same kernel, stride and padding).
    """
    import torchvision.models as tvm

    if not isinstance(arch, str) or arch not in tvm.list_models(module=tvm):
        raise ValueError(f"torchvision_model: arch must be a torchvision classification model name (e.g. 'resnet50'); "
                         f"got {arch!r}")
    model = tvm.get_model(arch, weights=None, num_classes=num_classes)
    if in_channels != 3 and isinstance(getattr(model, "conv1", None), nn.Conv2d):
        c = model.conv1
        model.conv1 = nn.Conv2d(in_channels, c.out_channels, c.kernel_size, c.stride, c.padding, bias=c.bias is not None)
    elif in_channels != 3:
        raise ValueError(f"torchvision_model: in_channels={in_channels} is supported for ResNet-style models only; got {arch!r}")
    return model
