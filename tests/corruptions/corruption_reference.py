"""Reference corruptions for the tests, in numpy/scipy/PIL/OpenCV, image by image.

``imagecorruptions`` 1.1.2 (the peer) fails on NumPy 2 / scikit-image >= 0.19 for glass blur and
Gaussian blur (``gaussian(multichannel=True)`` was removed) and fog (``np.float_``): these are
ported here with the same formulas on current APIs (``scipy.ndimage.gaussian_filter`` per channel
is what ``skimage.filters.gaussian(channel_axis=-1)`` computes). The CIFAR-10-C variants follow
Hendrycks' ``make_cifar_c.py`` (hendrycks/robustness, ImageNet-C/create_c/make_cifar_c.py) with its
constants; they stand in for that script, which needs Wand/ImageMagick and the CIFAR-10 pickles.
Each function takes and returns ``uint8`` HWC arrays, ``np.uint8`` truncation as in the scripts.
"""

from __future__ import annotations

from io import BytesIO

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter
from scipy.ndimage import zoom as scizoom

from torchaug.corruptions import _constants as K


def _gauss(x: np.ndarray, sigma: float) -> np.ndarray:
    return gaussian_filter(x, sigma=(sigma, sigma, 0), mode="nearest", truncate=4.0)


def gaussian_blur(x: np.ndarray, severity: int, cifar: bool = False) -> np.ndarray:
    c = (K.CIFAR if cifar else K.IMAGENET)["gaussian_blur"][severity - 1]
    return np.uint8(np.clip(_gauss(x / 255.0, c), 0, 1) * 255)


def glass_blur(x: np.ndarray, severity: int, rng: np.random.Generator, cifar: bool = False) -> np.ndarray:
    sig, d, iters = (K.CIFAR if cifar else K.IMAGENET)["glass_blur"][severity - 1]
    y = np.uint8(_gauss(x / 255.0, sig) * 255)
    H, W = y.shape[:2]
    for _ in range(iters):
        for h in range(H - d, d, -1):
            for w in range(W - d, d, -1):
                dx, dy = rng.integers(-d, d, size=(2,))
                hp, wp = h + dy, w + dx
                y[h, w], y[hp, wp] = y[hp, wp], y[h, w].copy()
    return np.uint8(np.clip(_gauss(y / 255.0, sig), 0, 1) * 255)


def plasma_fractal(mapsize: int, wibbledecay: float, rng: np.random.Generator) -> np.ndarray:
    m = np.zeros((mapsize, mapsize), dtype=np.float64)
    step, wibble = mapsize, 100.0

    def wm(a):
        return a / 4 + wibble * rng.uniform(-wibble, wibble, a.shape)

    while step >= 2:
        h = step // 2
        c = m[0:mapsize:step, 0:mapsize:step]
        sq = c + np.roll(c, -1, axis=0)
        sq += np.roll(sq, -1, axis=1)
        m[h:mapsize:step, h:mapsize:step] = wm(sq)
        dr = m[h:mapsize:step, h:mapsize:step]
        ul = m[0:mapsize:step, 0:mapsize:step]
        m[0:mapsize:step, h:mapsize:step] = wm(dr + np.roll(dr, 1, axis=0) + ul + np.roll(ul, -1, axis=1))
        m[h:mapsize:step, 0:mapsize:step] = wm(dr + np.roll(dr, 1, axis=1) + ul + np.roll(ul, -1, axis=0))
        step //= 2
        wibble /= wibbledecay
    m -= m.min()
    return m / m.max()


def fog(x: np.ndarray, severity: int, rng: np.random.Generator, cifar: bool = False) -> np.ndarray:
    c = (K.CIFAR if cifar else K.IMAGENET)["fog"][severity - 1]
    H, W = x.shape[:2]
    size = 1 << (max(H, W) - 1).bit_length()
    x = x / 255.0
    mx = x.max()
    x = x + c[0] * plasma_fractal(size, c[1], rng)[:H, :W][..., None]
    return np.uint8(np.clip(x * mx / (mx + c[0]), 0, 1) * 255)


# -- the CIFAR-10-C script's deterministic corruptions ------------------------------------------


def _hsv(x: np.ndarray, f) -> np.ndarray:
    import skimage.color as skc

    h = skc.rgb2hsv(x / 255.0)
    f(h)
    return np.uint8(np.clip(skc.hsv2rgb(h), 0, 1) * 255)


def cifar_brightness(x: np.ndarray, severity: int) -> np.ndarray:
    c = K.CIFAR["brightness"][severity - 1]

    def f(h):
        h[:, :, 2] = np.clip(h[:, :, 2] + c, 0, 1)

    return _hsv(x, f)


def cifar_saturate(x: np.ndarray, severity: int) -> np.ndarray:
    c = K.CIFAR["saturate"][severity - 1]

    def f(h):
        h[:, :, 1] = np.clip(h[:, :, 1] * c[0] + c[1], 0, 1)

    return _hsv(x, f)


def cifar_contrast(x: np.ndarray, severity: int) -> np.ndarray:
    c = K.CIFAR["contrast"][severity - 1]
    x = x / 255.0
    m = x.mean(axis=(0, 1), keepdims=True)
    return np.uint8(np.clip((x - m) * c + m, 0, 1) * 255)


def cifar_pixelate(x: np.ndarray, severity: int) -> np.ndarray:
    c = K.CIFAR["pixelate"][severity - 1]
    H, W = x.shape[:2]
    im = Image.fromarray(x).resize((int(W * c), int(H * c)), Image.BOX).resize((W, H), Image.BOX)
    return np.array(im)


def cifar_jpeg(x: np.ndarray, severity: int) -> np.ndarray:
    out = BytesIO()
    Image.fromarray(x).save(out, "JPEG", quality=K.CIFAR["jpeg_compression"][severity - 1])
    return np.array(Image.open(out))


def cifar_defocus(x: np.ndarray, severity: int) -> np.ndarray:
    import cv2
    from imagecorruptions.corruptions import disk

    c = K.CIFAR["defocus_blur"][severity - 1]
    k = disk(radius=c[0], alias_blur=c[1])
    x = x / 255.0
    ch = np.stack([cv2.filter2D(x[:, :, d], -1, k) for d in range(3)], -1)
    return np.uint8(np.clip(ch, 0, 1) * 255)


def _cifar_clipped_zoom(img: np.ndarray, z: float) -> np.ndarray:
    h = img.shape[0]
    ch = int(np.ceil(h / z))
    top = (h - ch) // 2
    img = scizoom(img[top : top + ch, top : top + ch], (z, z, 1), order=1)
    t = (img.shape[0] - h) // 2
    return img[t : t + h, t : t + h]


def cifar_zoom_blur(x: np.ndarray, severity: int) -> np.ndarray:
    c = K.CIFAR["zoom_blur"][severity - 1]
    x = (x / 255.0).astype(np.float32)
    out = np.zeros_like(x)
    for z in c:
        out += _cifar_clipped_zoom(x, z)
    return np.uint8(np.clip((x + out) / (len(c) + 1), 0, 1) * 255)


CIFAR_DETERMINISTIC = {
    "brightness": cifar_brightness,
    "saturate": cifar_saturate,
    "contrast": cifar_contrast,
    "pixelate": cifar_pixelate,
    "jpeg_compression": cifar_jpeg,
    "defocus_blur": cifar_defocus,
    "zoom_blur": cifar_zoom_blur,
}
