"""SaliencyMix: spectral-residual saliency (OpenCV's recipe), box centred on the partner's peak, area label."""

import numpy as np
import pytest
import torch

from torchaug.mixing import SaliencyMix, mix_targets, one_hot
from torchaug.mixing.saliencymix import saliency_peaks, spectral_residual_saliency


def _spot_images(b, h=64, w=48, seed=0):
    """Smooth grey images with one bright spot each at a random place; returns images and spots."""
    g = torch.Generator().manual_seed(seed)
    x = torch.full((b, 3, h, w), 0.4)
    ys = torch.randint(8, h - 8, (b,), generator=g)
    xs = torch.randint(8, w - 8, (b,), generator=g)
    yy, xx = torch.arange(h).view(h, 1), torch.arange(w).view(1, w)
    for i in range(b):
        x[i] += 0.5 * torch.exp(-((yy - ys[i]) ** 2 + (xx - xs[i]) ** 2) / 8.0)
    return x, torch.stack([ys, xs], 1)


def test_saliency_peak_finds_the_spot():
    x, spots = _spot_images(6)
    peaks = saliency_peaks(x)
    assert (peaks - spots).abs().max() <= 3


def test_saliency_matches_opencv_primitives():
    """OpenCV's StaticSaliencySpectralResidual (contrib) steps with the main package's primitives:
    resize to 64x64 (bilinear), log amplitude minus its 3x3 box blur, inverse DFT, squared
    magnitude, 5x5 Gaussian blur with sigma 8, divided by the maximum."""
    cv2 = pytest.importorskip("cv2")
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 80, 72, generator=g)
    ours = spectral_residual_saliency(x)
    for i in range(2):
        grey = (x[i, 0] * 0.299 + x[i, 1] * 0.587 + x[i, 2] * 0.114).numpy().astype(np.float32)
        small = cv2.resize(grey, (64, 64), interpolation=cv2.INTER_LINEAR)
        spec = np.fft.fft2(small)
        log_amp = np.log(np.abs(spec))
        residual = log_amp - cv2.blur(log_amp, (3, 3), borderType=cv2.BORDER_REFLECT_101)
        sal = np.abs(np.fft.ifft2(np.exp(residual) * np.exp(1j * np.angle(spec)))) ** 2
        sal = cv2.GaussianBlur(sal.astype(np.float32), (5, 5), 8, borderType=cv2.BORDER_REFLECT_101)
        ref = sal / sal.max()
        np.testing.assert_allclose(ours[i].numpy(), ref, atol=2e-3)
        assert np.unravel_index(ref.argmax(), ref.shape) == divmod(int(ours[i].flatten().argmax()), 64)


@pytest.mark.parametrize("mode", ["batch", "elem"])
def test_box_centred_on_the_partner_peak_and_label_is_kept_area(mode):
    b, k, h, w = 6, 3, 64, 48
    x, _ = _spot_images(b, h, w)
    y = torch.arange(b) % k
    m = SaliencyMix(1.0, num_classes=k, mode=mode)
    xm, ym, p = m(x, y, generator=torch.Generator().manual_seed(4), return_params=True)
    peaks = saliency_peaks(x)
    for i in range(b):
        y0, y1, x0, x1 = (int(v) for v in p["box"][i])
        j = int(p["perm"][i])
        py, px = (int(v) for v in peaks[j])
        assert y0 <= py and (py < y1 or y1 == y0) and x0 <= px and (px < x1 or x1 == x0)
        if 0 < y0 and y1 < h:  # not clipped: centred
            assert abs((y0 + y1) / 2 - py) <= 1
        assert torch.equal(xm[i, :, y0:y1, x0:x1], x[j, :, y0:y1, x0:x1])
        assert abs(float(p["lam"][i]) - (1 - (y1 - y0) * (x1 - x0) / (h * w))) < 1e-6
    torch.testing.assert_close(ym, mix_targets(one_hot(y, k), p["perm"], p["lam"]))


def test_lambda_before_correction_is_beta():
    """Unclipped boxes have side floor(H sqrt(1 - lam)) with lam ~ U(0, 1): the side fraction s has P(s <= t) = t^2."""
    stats = pytest.importorskip("scipy.stats")
    h = w = 200
    x, y = torch.rand(400, 1, h, w, generator=torch.Generator().manual_seed(0)), torch.zeros(400, dtype=torch.long)
    # centre every image's peak: a bright centre dot
    x[:, :, 98:102, 98:102] = 5.0
    _, _, p = SaliencyMix(1.0, num_classes=2, mode="elem")(x, y, generator=torch.Generator().manual_seed(1), return_params=True)
    side = (p["box"][:, 1] - p["box"][:, 0]).double().numpy() / h
    assert stats.kstest(side + 1.0 / h, lambda t: np.clip(t, 0, 1) ** 2).statistic < 0.08


@pytest.mark.parametrize("layout", ["planar", "channels_last", "uint8", "strided", "half"])
@pytest.mark.parametrize("shape", [(3, 3, 80, 72), (2, 1, 50, 300), (2, 3, 17, 9), (2, 4, 64, 64)])
def test_grey_small_is_luma_of_bilinear_resize(layout, shape):
    """The row / column bags equal luma(F.interpolate(x, 64x64, bilinear)) for any layout and dtype,
    down- and upsampling (the mean of the channels when C != 3)."""
    from torchaug.mixing.saliencymix import _grey_small

    x = torch.rand(shape, generator=torch.Generator().manual_seed(1))
    xx = {"planar": x, "channels_last": x.contiguous(memory_format=torch.channels_last),
          "uint8": (x * 255).round().to(torch.uint8), "strided": x.transpose(2, 3).contiguous().transpose(2, 3),
          "half": x.half()}[layout]
    r = torch.nn.functional.interpolate(xx.float(), (64, 64), mode="bilinear", align_corners=False)
    ref = r[:, 0] * 0.299 + r[:, 1] * 0.587 + r[:, 2] * 0.114 if shape[1] == 3 else r.mean(1)
    ours = _grey_small(xx, 64)
    assert ours.shape == (shape[0], 64, 64) and ours.dtype == torch.float32
    torch.testing.assert_close(ours, ref, atol=1e-4 if layout == "uint8" else 1e-6, rtol=1e-6)


def test_saliency_draw_runs_with_the_pixel_thread_count(monkeypatch):
    """The saliency (pixel work inside make_params) runs with set_cpu_threads' count, not the single
    thread of the parameter ops; the caller's setting is restored and the draws do not change."""
    import torchaug.mixing.saliencymix as sm
    from torchaug.mixing import set_cpu_threads

    seen = []
    real = sm.saliency_peaks
    monkeypatch.setattr(sm, "saliency_peaks", lambda x: (seen.append(torch.get_num_threads()), real(x))[1])
    x, _ = _spot_images(4)
    y = torch.arange(4) % 2
    m = SaliencyMix(1.0, num_classes=2)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        a = m(x, y, generator=torch.Generator().manual_seed(0), return_params=True)
        set_cpu_threads(1)
        b = m(x, y, generator=torch.Generator().manual_seed(0), return_params=True)
        assert torch.get_num_threads() == 2
    finally:
        set_cpu_threads(None)
        torch.set_num_threads(before)
    assert seen == [2, 1]
    assert torch.equal(a[0], b[0]) and torch.equal(a[2]["box"], b[2]["box"])
