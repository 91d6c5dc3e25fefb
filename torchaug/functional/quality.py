"""Batched image-quality degradations with per-sample parameters: JPEG compression (through
``torchvision.io``), WebP compression (through Pillow's libwebp), downscale-upscale and pixelation. No randomness.

``x`` is ``(B, C, H, W)``, ``uint8`` or floating in [0, 1]; outputs keep its shape, dtype, device
and memory format. Resampling is separable: per sample, each output row (column) reads one or two
source rows (columns) at positions computed as OpenCV's ``cv2.resize`` computes them, gathered
for the whole batch at once.
"""

from __future__ import annotations

import warnings

import torch

from torchaug._cpu.chunks import run_chunked
from torchaug.functional.color import _keep_format

__all__ = ["jpeg_compress", "webp_compress", "downscale", "pixelate"]


# -- JPEG --------------------------------------------------------------------------------------------


def _jpeg_compress_outer(x: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """Encode each sample as JPEG at its own ``quality`` (``(B,)`` ints in [1, 100]) and decode it
    (albumentations ``ImageCompression(compression_type="jpeg")``; the codec is
    ``torchvision.io.encode_jpeg``/``decode_jpeg``: libjpeg-turbo on CPU, nvJPEG batched on CUDA).

    Samples sharing a quality are encoded in one call (a list), so there is one codec call per
    distinct quality, not per sample. 1- and 3-channel images are coded as grey / RGB JPEGs;
    other channel counts channel by channel as grey. Floating input is quantised to ``uint8``
    (``round(x * 255)``) for the codec and returned as ``out / 255`` in its dtype.
    """
    with warnings.catch_warnings():  # torchvision 0.29 flags its image codecs as moving to TorchCodec
        warnings.simplefilter("ignore", DeprecationWarning)
        return _jpeg_compress(x, quality)


def _jpeg_compress(x: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    from torchvision.io import ImageReadMode, decode_jpeg, encode_jpeg

    B, C, H, W = x.shape
    if x.dtype == torch.uint8:
        u8 = x
    else:
        u8 = x.float().mul(255.0).round_().clamp_(0, 255).to(torch.uint8)
    if C in (1, 3):
        planes, q = u8, quality
    else:
        planes, q = u8.reshape(B * C, 1, H, W), quality.repeat_interleave(C)
    planes = planes.contiguous()
    q = q.to("cpu", torch.long)  # the codec takes a host int: one read of B small ints
    out = torch.empty_like(planes)
    mode = ImageReadMode.GRAY if planes.shape[1] == 1 else ImageReadMode.RGB
    dev = planes.device
    for qv in torch.unique(q).tolist():  # one codec call per distinct quality
        idx = (q == qv).nonzero().view(-1).tolist()
        enc = encode_jpeg([planes[i] for i in idx], quality=int(qv))
        # the encoded bytes are small; decode_jpeg reads them from host memory (nvJPEG on CUDA)
        dec = decode_jpeg([e.cpu() for e in enc], mode=mode, device=dev)
        out[torch.tensor(idx, device=dev)] = torch.stack(dec)
    out = out.view(B, C, H, W)
    if x.dtype != torch.uint8:
        out = (out.to(torch.float32) / 255.0).to(x.dtype)
    return _keep_format(out, x)


# -- WebP --------------------------------------------------------------------------------------------


def _webp_roundtrip(planes: "numpy.ndarray", quality: int) -> "numpy.ndarray":  # noqa: F821 - numpy imported lazily
    """One ``(H, W)`` grey or ``(H, W, 3)`` image through Pillow's lossy WebP encoder and back: colour
    decoded by ``torchvision.io.decode_webp`` (the same libwebp output, 4x less overhead than
    Pillow's animation decoder at 32x32), grey by Pillow (its ``L`` conversion is OpenCV's
    ``IMREAD_GRAYSCALE`` result here, bit for bit)."""
    import io

    import numpy as np
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(planes)).save(buf, format="WEBP", quality=int(quality))
    if planes.ndim == 3:
        from torchvision.io import ImageReadMode, decode_webp

        data = torch.frombuffer(bytearray(buf.getvalue()), dtype=torch.uint8)
        return decode_webp(data, mode=ImageReadMode.RGB).permute(1, 2, 0).numpy()
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L"))


def webp_compress(x: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """Encode each sample as lossy WebP at its own ``quality`` (``(B,)`` ints in [1, 100]) and decode it
    (albumentations 2.0.8 ``ImageCompression(compression_type="webp")``: ``cv2.imencode(".webp",
    img, (IMWRITE_WEBP_QUALITY, q))`` then ``cv2.imdecode``).

    The encoder is Pillow's libwebp (a torchvision dependency; ``torchvision.io`` can decode WebP but
    not encode it).
    albumentations hands its RGB array to OpenCV, which reads it as BGR; libwebp's RGB-to-YUV
    weights differ per channel, so the channels are reversed into the encoder and back out of the
    decoder to code exactly what the peer codes (bit-exact against it in the tests). Channel
    layouts as the peer's: 1 channel grey, 2 channels padded with a zero third, 3 as colour, more:
    the first 3 as colour and each further one as grey. Floating input is quantised to ``uint8``
    (``round(x * 255)``) and returned as ``out / 255`` in its dtype.

    A host codec: the batch is copied to the host and each sample coded in turn (the peer also
    codes image by image); the result is copied back to ``x``'s device.
    """
    with warnings.catch_warnings():  # torchvision 0.29 flags its image codecs as moving to TorchCodec
        warnings.simplefilter("ignore", DeprecationWarning)
        return _webp_compress(x, quality)


def _webp_compress(x: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    import numpy as np

    B, C, H, W = x.shape
    if x.dtype == torch.uint8:
        u8 = x
    else:
        u8 = x.float().mul(255.0).round_().clamp_(0, 255).to(torch.uint8)
    a = u8.permute(0, 2, 3, 1).to("cpu").contiguous().numpy()  # (B, H, W, C) on the host
    q = quality.to("cpu", torch.long).view(-1).tolist()  # the codec takes host ints: one read of B small ints
    out = np.empty_like(a)
    for i in range(B):  # a host codec, one image per call (as the peer)
        img = a[i]
        if C == 1:
            out[i, ..., 0] = _webp_roundtrip(img[..., 0], q[i])
            continue
        colour = img[..., :3] if C >= 3 else np.concatenate([img, np.zeros((H, W, 1), np.uint8)], axis=2)
        dec = _webp_roundtrip(colour[..., ::-1], q[i])[..., ::-1]  # the peer's array is coded as BGR
        out[i, ..., : min(C, 3)] = dec[..., : min(C, 3)]
        for c in range(3, C):
            out[i, ..., c] = _webp_roundtrip(img[..., c], q[i])
    y = torch.from_numpy(out).permute(0, 3, 1, 2).to(x.device).contiguous()
    if x.dtype != torch.uint8:
        y = (y.to(torch.float32) / 255.0).to(x.dtype)
    return _keep_format(y, x)


# -- separable per-sample resampling -------------------------------------------------------------


def _gather_axis(x: torch.Tensor, dim: int, idx: torch.Tensor) -> torch.Tensor:
    """``x`` read along ``dim`` (-2 or -1) at per-sample indices ``idx`` (``(B, n)``).

    Rows: one ``index_select`` of whole rows of the flattened planes (a row copy each; CPU
    ``torch.gather`` along the row axis was 85x slower at 256x3x32x32). Columns: ``gather``.
    """
    B, C, H, W = x.shape
    n = idx.shape[1]
    if dim == -2:
        base = (torch.arange(B * C, device=x.device).view(B, C, 1) * H)
        flat = (base + idx.view(B, 1, n)).view(-1)
        return x.reshape(B * C * H, W).index_select(0, flat).view(B, C, n, W)
    return torch.gather(x, 3, idx.view(B, 1, 1, n).expand(B, C, H, n))


def _resample_axis(x: torch.Tensor, dim: int, i0: torch.Tensor, i1: torch.Tensor | None, w1: torch.Tensor | None) -> torch.Tensor:
    a = _gather_axis(x, dim, i0)
    if i1 is None:
        return a
    b = _gather_axis(x, dim, i1)
    shape = (x.shape[0], 1, -1, 1) if dim == -2 else (x.shape[0], 1, 1, -1)
    return a + (b - a) * w1.to(a.dtype).view(shape)


def _taps(n_out: int, n_src: torch.Tensor, inv_scale: torch.Tensor, mode: str) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Source taps of ``cv2.resize`` along one axis: ``n_out`` outputs per sample from ``n_src``
    (``(B,)``) inputs, ``inv_scale`` (``(B,)``, float64) = OpenCV's ``inv_scale`` (``fx`` or
    ``dst / src``). ``nearest``: ``floor(d / inv_scale)``; ``linear``: half-pixel centres,
    clamped at the borders."""
    dev = n_src.device
    d = torch.arange(n_out, device=dev, dtype=torch.float64).view(1, -1)
    scale = (1.0 / inv_scale).view(-1, 1)
    last = (n_src - 1).view(-1, 1)
    if mode == "nearest":
        return torch.minimum(torch.floor(d * scale).long(), last), None, None
    f = ((d + 0.5) * scale - 0.5).to(torch.float32).to(torch.float64)  # OpenCV computes it in float
    s = torch.floor(f)
    w = f - s
    s = s.long()
    w = torch.where(s < 0, torch.zeros_like(w), w)
    s = s.clamp(min=0)
    at_end = s >= last
    w = torch.where(at_end, torch.zeros_like(w), w)
    s = torch.minimum(s, last)
    return s, torch.minimum(s + 1, last), w


def _downscale_impl(x: torch.Tensor, scale: torch.Tensor, down: str = "nearest", up: str = "nearest") -> torch.Tensor:
    """Downscale each sample by its ``scale`` (``(B,)`` in (0, 1]) and upscale back to ``H x W``
    (albumentations ``Downscale``: ``cv2.resize(fx=scale)`` then ``cv2.resize((W, H))``).

    ``down``/``up``: ``"nearest"`` (``cv2.INTER_NEAREST``, albumentations' default; exact) or
    ``"linear"`` (``cv2.INTER_LINEAR``; OpenCV's fixed-point ``uint8`` arithmetic can differ by one
    level). The small image is ``round(H * scale) x round(W * scale)`` (at least 1x1), rounded to
    ``uint8`` between the two steps as OpenCV's would be.
    """
    B, C, H, W = x.shape
    dev = x.device
    s = scale.to(device=dev, dtype=torch.float64).view(-1)
    hs = torch.round(H * s).long().clamp(1, H)
    ws = torch.round(W * s).long().clamp(1, W)
    integer = x.dtype == torch.uint8
    full_h = torch.full((B,), H, device=dev)
    full_w = torch.full((B,), W, device=dev)
    if down == "nearest" and up == "nearest":
        # both steps pick pixels: compose the index maps and read each output pixel once, in x's dtype
        iy = torch.gather(_taps(H, full_h, s, "nearest")[0], 1, _taps(H, hs, H / hs.to(torch.float64), "nearest")[0])
        ix = torch.gather(_taps(W, full_w, s, "nearest")[0], 1, _taps(W, ws, W / ws.to(torch.float64), "nearest")[0])
        y = _gather_axis(_gather_axis(x.contiguous(), -2, iy), -1, ix)
        return _keep_format(y.contiguous(), x)
    xf = x.to(torch.float32) if (integer or x.dtype in (torch.float16, torch.bfloat16)) else x
    # down: every sample into an (H x W) buffer; rows/columns beyond its own size are not read
    y = _resample_axis(xf, -2, *_taps(H, full_h, s, down))
    y = _resample_axis(y, -1, *_taps(W, full_w, s, down))
    if integer and down != "nearest":
        y = y.round_()
    # up: (H, W) outputs from the first (hs, ws) rows/columns
    y = _resample_axis(y, -2, *_taps(H, hs, H / hs.to(torch.float64), up))
    y = _resample_axis(y, -1, *_taps(W, ws, W / ws.to(torch.float64), up))
    if integer:
        y = y.round_().clamp_(0, 255)
    y = y.contiguous()
    return _keep_format(y if y.dtype == x.dtype else y.to(x.dtype), x)


# -- pixelate ----------------------------------------------------------------------------------------


def _pixelate_impl(x: torch.Tensor, block: torch.Tensor) -> torch.Tensor:
    """Replace each ``b x b`` block (``block``: ``(B,)`` ints, blocks anchored at the top-left; the
    last row/column of blocks may be smaller) by its mean: average pooling kept at the input size
    (imgaug ``AveragePooling(keep_size=True)``; ImageNet-C's pixelate, a box down- and upscale).

    Exact: block sums from an integral image (``int64`` for ``uint8``, rounded half up; float64 for
    floats), read at per-sample block corners for the whole batch.
    """
    B, C, H, W = x.shape
    dev = x.device
    integer = x.dtype == torch.uint8
    acc = torch.int64 if integer else torch.float64
    ii = torch.zeros(B, C, H + 1, W + 1, dtype=acc, device=dev)
    ii[:, :, 1:, 1:] = x.to(acc).cumsum(2).cumsum(3)
    b = block.to(device=dev, dtype=torch.long).view(-1, 1).clamp(min=1)

    def edges(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        i = torch.arange(n, device=dev).view(1, -1)
        lo = (i // b) * b
        return lo, torch.clamp(lo + b, max=n)

    y0, y1 = edges(H)
    x0, x1 = edges(W)
    rows = _gather_axis(ii, -2, y1) - _gather_axis(ii, -2, y0)  # (B, C, H, W + 1)
    sums = _gather_axis(rows, -1, x1) - _gather_axis(rows, -1, x0)  # (B, C, H, W)
    area = ((y1 - y0).view(B, 1, H, 1) * (x1 - x0).view(B, 1, 1, W)).to(acc)
    if integer:
        out = torch.div(2 * sums + area, 2 * area, rounding_mode="floor").to(torch.uint8)
    else:
        out = (sums / area).to(x.dtype)
    return _keep_format(out, x)


# -- public entry points: the kernels above, run on chunks of the batch (see torchaug._cpu.chunks) --


def jpeg_compress(x: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:  # noqa: D103 - the docstring is the kernel's
    return run_chunked(_jpeg_compress_outer, x, (quality,), (), work_factor=64)


jpeg_compress.__doc__ = _jpeg_compress_outer.__doc__


def downscale(x: torch.Tensor, scale: torch.Tensor, down: str = "nearest", up: str = "nearest") -> torch.Tensor:  # noqa: D103 - the docstring is the kernel's
    return run_chunked(_downscale_impl, x, (scale,), (down, up))


downscale.__doc__ = _downscale_impl.__doc__


def pixelate(x: torch.Tensor, block: torch.Tensor) -> torch.Tensor:  # noqa: D103 - the docstring is the kernel's
    return run_chunked(_pixelate_impl, x, (block,), (), work_factor=16)


pixelate.__doc__ = _pixelate_impl.__doc__
