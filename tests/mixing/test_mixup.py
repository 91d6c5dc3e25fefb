"""MixUp: exact properties, modes, dtypes, fast path = reference kernel, errors."""

import pytest
import torch
import torch.nn.functional as F

from torchaug.mixing import MixUp, SoftTargetCrossEntropy, mix_targets, mixing_stats, one_hot
from torchaug.mixing import _kernels as K


def _batch(b=8, dtype=torch.float32, seed=0, size=8):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (b, 3, size, size), generator=g, dtype=torch.uint8)
    return x if dtype == torch.uint8 else x.to(dtype) / 255


def _reference(x, params):
    """λ x + (1 - λ) x[perm] in float64, rounded to nearest (halves up) for uint8."""
    b = x.shape[0]
    lam = params["image_lam"].double().view(b, 1, 1, 1)
    xd = x.double()
    out = lam * xd + (1 - lam) * xd[params["perm"]]
    return torch.floor(out + 0.5).to(torch.uint8) if x.dtype == torch.uint8 else out


@pytest.mark.parametrize("mode", ["batch", "pair", "elem"])
@pytest.mark.parametrize("b", [1, 2, 5, 8])
def test_rows_sum_to_one_and_shapes(mode, b):
    m = MixUp(1.0, num_classes=4, mode=mode)
    x, y = _batch(b), torch.arange(b) % 4
    xm, ym = m(x, y, generator=torch.Generator().manual_seed(0))
    assert xm.shape == x.shape and xm.dtype == x.dtype
    assert ym.shape == (b, 4) and ym.dtype == torch.float32
    torch.testing.assert_close(ym.sum(1), torch.ones(b))


@pytest.mark.parametrize("s", [0.1, 0.3])
def test_label_smoothing_bounds(s):
    k = 5
    m = MixUp(1.0, num_classes=k, label_smoothing=s, mode="elem")
    x, y = _batch(16), torch.arange(16) % k
    _, ym = m(x, y, generator=torch.Generator().manual_seed(1))
    assert (ym >= s / k - 1e-6).all() and (ym <= 1 - s + s / k + 1e-6).all()
    torch.testing.assert_close(ym.sum(1), torch.ones(16))
    # with no mixing, the smoothed one-hot exactly
    _, y0 = MixUp(0.0, num_classes=k, label_smoothing=s)(x, y)
    torch.testing.assert_close(y0, F.one_hot(y, k).float() * (1 - s) + s / k)


@pytest.mark.parametrize("mode", ["batch", "pair", "elem"])
def test_lambda_recoverable_from_images(mode):
    m = MixUp(1.0, num_classes=3, mode=mode)
    x, y = _batch(6, torch.float64), torch.tensor([0, 1, 2, 0, 1, 2])
    xm, ym, p = m(x, y, generator=torch.Generator().manual_seed(2), return_params=True)
    for i in range(6):
        a, b = x[i].flatten(), x[p["perm"][i]].flatten()
        d = a - b
        sel = d.abs() > 0.2
        lam_hat = ((xm[i].flatten() - b)[sel] / d[sel]).median()
        assert abs(float(lam_hat) - float(p["lam"][i])) < 1e-6
    # and the targets carry the same λ
    torch.testing.assert_close(ym, mix_targets(one_hot(y, 3), p["perm"], p["lam"]).to(ym.dtype))


def test_batch_mode_one_lambda_elem_one_per_sample_pair_per_pair():
    x, y = _batch(10), torch.arange(10) % 3
    g = torch.Generator().manual_seed(3)
    _, _, pb = MixUp(1.0, num_classes=3, mode="batch")(x, y, generator=g, return_params=True)
    assert torch.unique(pb["lam"]).numel() == 1
    _, _, pe = MixUp(1.0, num_classes=3, mode="elem")(x, y, generator=g, return_params=True)
    assert torch.unique(pe["lam"]).numel() == 10
    _, _, pp = MixUp(1.0, num_classes=3, mode="pair")(x, y, generator=g, return_params=True)
    assert torch.equal(pp["lam"], pp["lam"][pp["perm"]])  # partners share λ
    assert torch.unique(pp["lam"]).numel() == 5


def test_soft_ce_equals_mixed_ce():
    k = 6
    m = MixUp(0.4, num_classes=k, mode="elem")
    x, y = _batch(12), torch.arange(12) % k
    _, ym, p = m(x, y, generator=torch.Generator().manual_seed(4), return_params=True)
    logits = torch.randn(12, k, generator=torch.Generator().manual_seed(5))
    loss = SoftTargetCrossEntropy()(logits, ym)
    lam = p["lam"]
    ce_a = F.cross_entropy(logits, y, reduction="none")
    ce_b = F.cross_entropy(logits, y[p["perm"]], reduction="none")
    torch.testing.assert_close(loss, (lam * ce_a + (1 - lam) * ce_b).mean())
    # int targets: plain cross-entropy
    torch.testing.assert_close(SoftTargetCrossEntropy()(logits, y), F.cross_entropy(logits, y))
    with pytest.raises(ValueError, match="SoftTargetCrossEntropy"):
        SoftTargetCrossEntropy()(logits, ym[:, :3])


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.float64])
@pytest.mark.parametrize("mode", ["batch", "elem"])
@pytest.mark.parametrize("pairing", ["shift", "random", "roll"])
@pytest.mark.parametrize("b", [2, 3, 7, 8])
def test_matches_reference(dtype, mode, pairing, b):
    m = MixUp(1.0, num_classes=3, mode=mode, pairing=pairing)
    x, y = _batch(b, dtype), torch.arange(b) % 3
    xm, _, p = m(x.clone(), y, generator=torch.Generator().manual_seed(b), return_params=True)
    ref = _reference(x, p)
    if dtype == torch.uint8:
        assert xm.dtype == torch.uint8
        assert torch.equal(xm, ref)  # exact: λ on the 1/128 grid, integer arithmetic
        assert torch.equal(p["lam"] * 128, (p["lam"] * 128).round())
    else:
        torch.testing.assert_close(xm.double(), ref, rtol=0, atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("b", [2, 3, 5, 9, 16])
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("mode", ["elem", "batch"])
def test_fast_path_equals_generic_kernel_inplace_too(dtype, b, channels_last, mode, monkeypatch):
    x, y = _batch(b, dtype, size=10), torch.arange(b) % 3
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    monkeypatch.setattr(K, "TILE_BYTES", 4096)  # several tiles even on tiny images
    monkeypatch.setattr(K, "SINGLE_TILE_BYTES", 0)
    m = MixUp(1.0, num_classes=3, mode=mode)
    g = torch.Generator().manual_seed(7)
    fast, yf, p = m(x.clone(), y, generator=g, return_params=True)
    generic = K.blend_generic(x, p["perm"], p["image_lam"].view(b, 1, 1, 1))
    assert torch.equal(fast, generic)
    xi = x.clone()
    inpl, yi = m(xi, y, params=p, inplace=True)
    assert inpl.data_ptr() == xi.data_ptr() and torch.equal(inpl, generic) and torch.equal(yi, yf)
    assert fast.is_contiguous(memory_format=torch.channels_last) == channels_last


def test_tiles_do_not_change_the_result():
    x, y = _batch(6, torch.float32, size=12), torch.arange(6) % 3
    m = MixUp(1.0, num_classes=3, mode="elem")
    _, _, p = m(x, y, generator=torch.Generator().manual_seed(0), return_params=True)
    r, lam = int(p["offset"]), p["image_lam"]
    K.SINGLE_TILE_BYTES, saved = 0, K.SINGLE_TILE_BYTES
    try:
        outs = [K.blend_pairs(x, torch.empty_like(x), r, None, lam, tile_bytes=t) for t in (1, 5000, 1 << 30)]
    finally:
        K.SINGLE_TILE_BYTES = saved
    assert torch.equal(outs[0], outs[1]) and torch.equal(outs[1], outs[2])


@pytest.mark.parametrize("b", [6, 7])
@pytest.mark.parametrize("dtype", [torch.float32, torch.uint8])
def test_one_lambda_pair_kernel_equals_generic_in_tiles_and_in_place(b, dtype):
    """The CPU batch-mode path passes λ as a Python number; tiles and in-place must not change a bit."""
    from torchaug.mixing._random import as_float32, shift_perm

    x = _batch(b, dtype, size=12)
    lam = as_float32(K.quantize_lam(0.3) if dtype == torch.uint8 else 0.3)
    saved = K.SINGLE_TILE_BYTES
    for r in range(b // 2):
        q = 2 if b % 2 else None
        perm = shift_perm(b, r, q)
        ref = K.blend_generic(x, perm, torch.full((b, 1, 1, 1), lam))
        leftover = None if q is None else (b - 1, q)
        try:
            K.SINGLE_TILE_BYTES = 0
            for t in (1, 5000, 1 << 30):
                assert torch.equal(K.blend_pairs(x, torch.empty_like(x), r, leftover, lam, tile_bytes=t), ref)
                xi = x.clone()
                assert torch.equal(K.blend_pairs(xi, xi, r, leftover, lam, tile_bytes=t), ref)
        finally:
            K.SINGLE_TILE_BYTES = saved
        xi = x.clone()
        assert torch.equal(K.blend_pairs(xi, xi, r, leftover, lam), ref)  # one tile, 4-D row blocks


def test_returned_params_belong_to_the_caller():
    """Batch-mode CPU draws reuse cached pairings; what is returned must be the caller's to modify."""
    x, y = _batch(8), torch.arange(8) % 3
    m = MixUp(1.0, num_classes=3)
    _, _, p = m(x, y, generator=torch.Generator().manual_seed(0), return_params=True)
    expected = p["perm"].clone()
    p["perm"].zero_()
    p["lam"].zero_()
    xm, _, p2 = m(x, y, generator=torch.Generator().manual_seed(0), return_params=True)
    assert torch.equal(p2["perm"], expected) and (p2["lam"] > 0).all()
    m(x, y, generator=torch.Generator().manual_seed(0))  # parameters not returned: built on access
    assert torch.equal(m.last_params["perm"], expected) and float(m.last_stats["mixed_fraction"]) == 1.0
    assert torch.equal(xm, K.blend_generic(x, expected, p2["image_lam"].view(8, 1, 1, 1)))


def test_alpha_zero_returns_batch_unmixed():
    x, y = _batch(5), torch.arange(5) % 3
    xm, ym, p = MixUp(0.0, num_classes=3)(x, y, return_params=True)
    assert torch.equal(xm, x)
    torch.testing.assert_close(ym, F.one_hot(y, 3).float())
    assert (p["lam"] == 1).all() and not p["mixed"].any()


def test_p_leaves_unselected_samples_exact():
    x, y = _batch(40, torch.uint8), torch.arange(40) % 3
    m = MixUp(1.0, num_classes=3, p=0.5, mode="elem")
    xm, ym, p = m(x, y, generator=torch.Generator().manual_seed(8), return_params=True)
    keep = ~p["mixed"]
    assert 5 < int(keep.sum()) < 35
    assert torch.equal(xm[keep], x[keep])
    assert (p["lam"][keep] == 1).all()
    torch.testing.assert_close(ym[keep], F.one_hot(y[keep], 3).float())
    assert (xm[~keep] != x[~keep]).any()


def test_batch_of_one_and_odd_batches():
    x, y = _batch(1), torch.tensor([2])
    xm, ym = MixUp(1.0, num_classes=3)(x, y)
    assert torch.equal(xm, x) and torch.equal(ym, F.one_hot(y, 3).float())
    x, y = _batch(7), torch.arange(7) % 3
    xm, ym, p = MixUp(1.0, num_classes=3)(x, y, generator=torch.Generator().manual_seed(1), return_params=True)
    assert p["mixed"].all()  # the odd one out has a partner too
    assert not torch.equal(xm[6], x[6])


def test_soft_input_targets_and_composition():
    k = 4
    x, y = _batch(6), torch.arange(6) % k
    m = MixUp(1.0, num_classes=k, mode="elem")
    g = torch.Generator().manual_seed(9)
    x1, y1, p1 = m(x, y, generator=g, return_params=True)
    x2, y2, p2 = m(x1, y1, generator=g, return_params=True)  # soft targets in
    expected = mix_targets(mix_targets(one_hot(y, k), p1["perm"], p1["lam"]), p2["perm"], p2["lam"])
    torch.testing.assert_close(y2, expected)


def test_disabled_returns_input_and_onehot():
    m = MixUp(1.0, num_classes=3, label_smoothing=0.1)
    m.enabled = False
    x, y = _batch(4), torch.arange(4) % 3
    xm, ym, p = m(x, y, return_params=True)
    assert xm is x
    torch.testing.assert_close(ym, one_hot(y, 3, label_smoothing=0.1))
    assert float(m.last_stats["mixed_fraction"]) == 0.0 and float(m.last_stats["lam_mean"]) == 1.0


def test_last_stats_are_tensors():
    m = MixUp(1.0, num_classes=3, p=0.5, mode="elem")
    x, y = _batch(32), torch.arange(32) % 3
    _, _, p = m(x, y, generator=torch.Generator().manual_seed(3), return_params=True)
    st = m.last_stats
    assert set(st) == {"mixed_fraction", "lam_mean"}
    assert all(isinstance(v, torch.Tensor) and v.ndim == 0 for v in st.values())
    assert float(st["mixed_fraction"]) == float(p["mixed"].float().mean())
    torch.testing.assert_close(st["lam_mean"], p["lam"].mean())
    assert mixing_stats(p).keys() == st.keys()


def test_replay_params():
    m = MixUp(1.0, num_classes=3, mode="elem")
    x, y = _batch(6), torch.arange(6) % 3
    a, ya, p = m(x, y, generator=torch.Generator().manual_seed(0), return_params=True)
    b, yb = m(x, y, params=p)
    assert torch.equal(a, b) and torch.equal(ya, yb)
    # a foreign pairing (no structure) goes through the generic kernel
    q = {"perm": torch.arange(6).flip(0), "lam": torch.full((6,), 0.25)}
    c, yc = m(x, y, params=q)
    torch.testing.assert_close(c, 0.25 * x + 0.75 * x.flip(0))
    with pytest.raises(ValueError, match="MixUp: params"):
        m(x, y, params={"perm": torch.arange(5), "lam": torch.ones(6)})


def test_reproducible_with_generator_and_global_rng():
    m = MixUp(1.0, num_classes=3, mode="elem")
    x, y = _batch(6), torch.arange(6) % 3
    a = m(x, y, generator=torch.Generator().manual_seed(1))[0]
    b = m(x, y, generator=torch.Generator().manual_seed(1))[0]
    c = m(x, y, generator=torch.Generator().manual_seed(2))[0]
    assert torch.equal(a, b) and not torch.equal(a, c)
    torch.manual_seed(3)
    d = m(x, y)[0]
    torch.manual_seed(3)
    assert torch.equal(d, m(x, y)[0])


def test_input_not_modified_unless_inplace():
    x, y = _batch(6), torch.arange(6) % 3
    x0 = x.clone()
    MixUp(1.0, num_classes=3)(x, y)
    assert torch.equal(x, x0)
    out, _ = MixUp(1.0, num_classes=3, inplace=True)(x, y, generator=torch.Generator().manual_seed(0))
    assert out.data_ptr() == x.data_ptr() and not torch.equal(x, x0)


def test_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match="MixUp: alpha"):
        MixUp(-1.0, num_classes=3)
    with pytest.raises(ValueError, match="MixUp: mode"):
        MixUp(1.0, num_classes=3, mode="batchwise")
    with pytest.raises(ValueError, match="MixUp: p"):
        MixUp(1.0, num_classes=3, p=1.5)
    with pytest.raises(TypeError, match="MixUp: num_classes"):
        MixUp(1.0, num_classes=2.5)
    with pytest.raises(ValueError, match="MixUp: label_smoothing"):
        MixUp(1.0, num_classes=3, label_smoothing=2.0)
    m = MixUp(1.0, num_classes=3)
    x = _batch(4)
    with pytest.raises(TypeError, match="MixUp: x must be uint8"):
        m(torch.zeros(4, 3, 8, 8, dtype=torch.int32), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match=r"MixUp: x must be an image tensor of shape \(B, C, H, W\)"):
        m(x[0], torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="MixUp: y"):
        m(x, torch.zeros(4, 5))
    with pytest.raises(TypeError, match="MixUp: generator"):
        m(x, torch.zeros(4, dtype=torch.long), generator=3)


def test_cpu_thread_limit_is_scoped_and_results_do_not_depend_on_it():
    from torchaug.mixing import set_cpu_threads

    x, y = _batch(6, size=16), torch.arange(6) % 3
    m = MixUp(1.0, num_classes=3, mode="elem")
    before = torch.get_num_threads()
    a = m(x, y, generator=torch.Generator().manual_seed(0))[0]
    assert torch.get_num_threads() == before
    try:
        set_cpu_threads(1)
        b = m(x, y, generator=torch.Generator().manual_seed(0))[0]
    finally:
        set_cpu_threads(None)
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="set_cpu_threads"):
        set_cpu_threads(0)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(
    b=st.integers(1, 12),
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    seed=st.integers(0, 2**31 - 1),
    kind=st.sampled_from(["MixUp", "CutMix", "SamplePairing", "MixUpCutMix"]),
    mode=st.sampled_from(["batch", "pair", "elem"]),
    uint8=st.booleans(),
    p=st.sampled_from([1.0, 0.5]),
)
def test_property_any_shape_matches_generic_kernel(b, h, w, seed, kind, mode, uint8, p):
    import torchaug.mixing as M

    kw = {} if kind == "SamplePairing" else {"mode": mode}
    m = getattr(M, kind)(num_classes=4, p=p, **kw)
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (b, 2, h, w), generator=g, dtype=torch.uint8)
    x = x if uint8 else x.float() / 255
    y = torch.randint(0, 4, (b,), generator=g)
    out, ys, prm = m(x, y, generator=g, return_params=True)
    assert out.shape == x.shape and out.dtype == x.dtype
    torch.testing.assert_close(ys.sum(1), torch.ones(b))
    assert ((ys >= 0) & (ys <= 1 + 1e-6)).all()
    generic = m._apply_generic(x, m.params_type(**{k: v for k, v in prm.items() if k != "offset"}), False)
    assert torch.equal(out, generic)
    assert torch.equal(out[~prm["mixed"]], x[~prm["mixed"]])
