"""RandomErasing's timm options (mode, min/max_count, num_splits): timm's boxes and fills replayed, statistics."""

from __future__ import annotations

import random

import pytest
import torch

from torchaug.transforms import RandomErasing

timm_re = pytest.importorskip("timm.data.random_erasing")

MEAN, STD = (0.5, 0.4, 0.6), (0.1, 0.12, 0.08)


class _Recorder:
    """Stands in for the ``random`` module inside timm's RandomErasing: records the box corners drawn."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.corners = []  # (image index, top, h, left, w) per box painted

    def random(self):
        return self.rng.random()

    def uniform(self, a, b):
        return self.rng.uniform(a, b)

    def randint(self, a, b):
        r = self.rng.randint(a, b)
        if a == 0:  # top / left draws (the count draw starts at min_count >= 1)
            self.corners.append((r, b))
        return r


def _run_timm(xn, seed, **kw):
    rec = _Recorder(seed)
    fills = []
    get = timm_re._get_pixels

    def rec_get(*a, **k):
        out = get(*a, **k)
        fills.append(out)
        return out

    old_random, timm_re.random, timm_re._get_pixels = timm_re.random, rec, rec_get
    starts = []
    t = timm_re.RandomErasing(device="cpu", **kw)
    erase = t._erase

    def rec_erase(img, *a):
        starts.append(len(rec.corners))
        return erase(img, *a)

    t._erase = rec_erase
    try:
        out = t(xn.clone())
    finally:
        timm_re.random, timm_re._get_pixels = old_random, get
    return out, rec.corners, starts, fills


def _our_params(x, corners, starts, fills, n_boxes, batch_start, mode):
    B, C, H, W = x.shape
    top = torch.zeros(B, n_boxes, dtype=torch.long)
    left, height, width = top.clone(), top.clone(), top.clone()
    colour = torch.zeros(B, n_boxes, C)
    mean, std = torch.tensor(MEAN), torch.tensor(STD)
    ends = starts[1:] + [len(corners)]
    box = 0
    for i, (s, e) in enumerate(zip(starts, ends)):
        b = batch_start + i
        pairs = corners[s:e]
        for k in range(0, len(pairs), 2):
            (t, hb), (l, wb) = pairs[k], pairs[k + 1]
            j = k // 2
            top[b, j], height[b, j], left[b, j], width[b, j] = t, H - hb, l, W - wb
            if mode == "rand":
                colour[b, j] = (mean + std * fills[box].flatten()).clamp(0, 1)
            box += 1
    p = {"top": top, "left": left, "height": height, "width": width, "apply": torch.ones(B, dtype=torch.bool)}
    if mode == "rand":
        p["colour"] = colour
    return p


@pytest.mark.parametrize("mode", ["const", "rand"])
@pytest.mark.parametrize("counts, num_splits", [((1, 1), 0), ((1, 4), 0), ((2, 3), 3)])
def test_replays_timm_boxes_and_fills(mode, counts, num_splits):
    g = torch.Generator().manual_seed(0)
    B, C, H, W = 6, 3, 24, 20
    x = torch.rand(B, C, H, W, generator=g)
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    kw = dict(probability=1.0, min_area=0.02, max_area=0.4, min_aspect=0.3, mode=mode,
              min_count=counts[0], max_count=counts[1], num_splits=num_splits)
    ref_n, corners, starts, fills = _run_timm((x - mean) / std, 7, **kw)
    ref = (ref_n * std + mean).clamp(0, 1)
    batch_start = B // num_splits if num_splits > 1 else 0
    ours_t = RandomErasing(p=1.0, scale=(0.02, 0.4), ratio=(0.3, 1 / 0.3), mode=mode, min_count=counts[0],
                           max_count=counts[1], num_splits=num_splits, fill_mean=MEAN, fill_std=STD)
    params = _our_params(x, corners, starts, fills, counts[1], batch_start, mode)
    if counts[1] == 1:
        params = {k: (v[:, 0] if k not in ("apply", "colour") else v) for k, v in params.items()}
    if num_splits > 1:
        params["apply"][:batch_start] = False
    ours = ours_t(x, params=params)
    if mode == "const":  # timm's zero after normalisation is the mean
        ref = torch.where(ref_n == 0, mean.expand_as(ref), ref)
        ours_t2 = RandomErasing(p=1.0, scale=(0.02, 0.4), ratio=(0.3, 1 / 0.3), value=MEAN, mode="const",
                                min_count=counts[0], max_count=counts[1], num_splits=num_splits)
        ours = ours_t2(x, params=params)
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=0)
    assert torch.equal(ours[:batch_start], x[:batch_start])


def test_own_draws_counts_areas_and_clean_split():
    x = torch.full((600, 3, 32, 32), 0.5)
    t = RandomErasing(p=1.0, scale=(0.02, 1 / 3), mode="const", min_count=1, max_count=3, num_splits=3)
    out, p = t(x, generator=torch.Generator().manual_seed(0), return_params=True)
    assert p["height"].shape == (600, 3)
    n_boxes = (p["height"] * p["width"] > 0).sum(1)
    assert not p["apply"][:200].any() and p["apply"][200:].all()
    assert torch.equal(out[:200], x[:200]) and (out[200:] != x[200:]).flatten(1).any(1).all()  # the clean split
    assert set(n_boxes[200:].tolist()) <= {1, 2, 3} and len(set(n_boxes[200:].tolist())) == 3
    # each box's area is the draw divided by the sample's count: mean single-box area shrinks with count
    area = (p["height"] * p["width"]).float()
    one = area[200:][n_boxes[200:] == 1, 0].mean()
    three = area[200:][n_boxes[200:] == 3].mean()
    assert three < 0.5 * one


def test_random_fill_statistics_match_timm():
    x = torch.full((400, 3, 16, 16), 0.5)
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    for mode in ("rand", "pixel"):
        t = RandomErasing(p=1.0, scale=(0.2, 0.4), ratio=(0.5, 2.0), mode=mode, fill_mean=MEAN, fill_std=STD)
        out = t(x, generator=torch.Generator().manual_seed(1))
        z = ((out - mean) / std)[out != 0.5]  # normalised fills: timm's N(0, 1)
        assert abs(z.mean()) < 0.05 and abs(z.std() - 1) < 0.05, (mode, z.mean(), z.std())
    uniform = RandomErasing(p=1.0, scale=(0.2, 0.4), mode="pixel")(x, generator=torch.Generator().manual_seed(2))
    v = uniform[uniform != 0.5]
    assert abs(v.mean() - 0.5) < 0.02 and abs(v.var() - 1 / 12) < 0.01  # without fill_mean/std: uniform [0, 1]
    u8 = RandomErasing(p=1.0, mode="rand")((x * 255).to(torch.uint8), generator=torch.Generator().manual_seed(3))
    assert u8.dtype == torch.uint8


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        ({"mode": "random"}, ValueError, "mode"),
        ({"min_count": 0}, ValueError, "min_count"),
        ({"min_count": 3, "max_count": 2}, ValueError, "max_count"),
        ({"num_splits": -1}, ValueError, "num_splits"),
        ({"fill_mean": 0.5}, ValueError, "fill_std"),
        ({"mode": "rand", "value": 0.5}, ValueError, "value"),
    ],
)
def test_bad_arguments(kwargs, err, match):
    with pytest.raises(err, match=match):
        RandomErasing(**kwargs)


@pytest.mark.parametrize("mode", ["const", "rand", "pixel"])
def test_timm_modes_read_nothing_back_on_the_accelerator_path(mode):
    import torchaug
    from tests.tests_support import forbid_host_reads

    x = torch.randint(0, 256, (8, 3, 16, 16), dtype=torch.uint8)
    t = RandomErasing(p=0.5, mode=mode, min_count=1, max_count=3, num_splits=2, fill_mean=MEAN, fill_std=STD)
    ref = t(x, generator=torch.Generator().manual_seed(0))
    with torchaug.accelerator_path(), forbid_host_reads():
        out = t(x, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out, ref)
