"""The mixers' typed parameters (issue 19): dict-style reads, replay, and one sampling rule for ``p``."""

import pickle

import pytest
import torch

from torchaug.mixing import CutMix, FMix, MixUp, MixUpCutMix, Mosaic, ResizeMix, SaliencyMix, SamplePairing
from torchaug.mixing._params import MaskMixParams, MixCutParams, MixParams, MosaicParams

FACTORIES = {
    "MixUp": lambda **kw: MixUp(1.0, num_classes=5, **kw),
    "MixUpA02": lambda **kw: MixUp(0.2, num_classes=5, **kw),
    "CutMix": lambda **kw: CutMix(1.0, num_classes=5, **kw),
    "CutMixMinmax": lambda **kw: CutMix(num_classes=5, cutmix_minmax=(0.2, 0.8), **kw),
    "MixUpCutMix": lambda **kw: MixUpCutMix(0.8, 1.0, num_classes=5, **kw),
    "SamplePairing": lambda **kw: SamplePairing(num_classes=5, **{k: v for k, v in kw.items() if k != "mode"}),
    "FMix": lambda **kw: FMix(1.0, 3.0, num_classes=5, **kw),
    "ResizeMix": lambda **kw: ResizeMix(num_classes=5, **kw),
    "SaliencyMix": lambda **kw: SaliencyMix(1.0, num_classes=5, **kw),
}


def _x(dtype=torch.float32, b=32, h=12, w=16, seed=0):
    x = torch.randint(0, 256, (b, 3, h, w), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)
    return x if dtype == torch.uint8 else x.float() / 255


@pytest.mark.parametrize("name", FACTORIES)
@pytest.mark.parametrize("mode", ["batch", "elem"])
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_p_below_one_keeps_the_draws_and_the_stream(name, mode, dtype):
    """Same generator: p = 1.0, 0.99 and 0.5 give the same pairing, and the same λ and box for every
    sample they mix; the unmixed ones have λ = 1 and no box; the stream after the call is the same."""
    x, y = _x(dtype), torch.arange(32) % 5
    runs = {}
    for p in (1.0, 0.99, 0.5):
        g = torch.Generator().manual_seed(7)
        _, _, params = FACTORIES[name](mode=mode, p=p)(x, y, generator=g, return_params=True)
        runs[p] = (dict(params), g.get_state())
    ref, ref_state = runs[1.0]
    assert bool(ref["mixed"].all())
    for p in (0.99, 0.5):
        got, state = runs[p]
        m = got["mixed"]
        assert torch.equal(state, ref_state), "the random stream after the call depends on p"
        assert torch.equal(got["perm"], ref["perm"])
        assert torch.equal(got["lam"][m], ref["lam"][m]) and torch.equal(got["image_lam"][m], ref["image_lam"][m])
        assert torch.equal(got["box"][m], ref["box"][m])
        assert bool((got["lam"][~m] == 1).all() and (got["image_lam"][~m] == 1).all())
        assert bool((got["box"][~m] == 0).all())
        if "mask" in got:
            assert torch.equal(got["mask"][m], ref["mask"][m]) and bool((got["mask"][~m] == 1).all())
    assert 0 < int(runs[0.5][0]["mixed"].sum()) < 32  # p = 0.5 did leave samples unmixed


def test_coins_are_the_last_draw():
    """The documented rule: the B uniforms that choose the mixed samples come after every other draw."""
    x, y = _x(), torch.arange(32) % 5
    g = torch.Generator().manual_seed(3)
    _, _, params = MixUp(1.0, num_classes=5, mode="elem", p=0.5)(x, y, generator=g, return_params=True)
    g2 = torch.Generator().manual_seed(3)
    _, _, ref = MixUp(1.0, num_classes=5, mode="elem", p=1.0)(x, y, generator=g2, return_params=True)
    assert torch.equal(torch.rand(4, generator=g), torch.rand(4, generator=g2))
    g3 = torch.Generator().manual_seed(3)
    MixUp(1.0, num_classes=5, mode="elem", p=1.0).make_params(x, g3)
    assert torch.equal(params["mixed"], torch.rand(32, generator=g3) < 0.5)


@pytest.mark.parametrize("name, kind", [("MixUp", MixParams), ("CutMix", MixParams), ("MixUpCutMix", MixCutParams),
                                        ("FMix", MaskMixParams), ("ResizeMix", MixParams)])
def test_params_read_like_a_dict_and_replay(name, kind):
    x, y = _x(b=6), torch.arange(6) % 5
    m = FACTORIES[name]()
    out, ys, params = m(x, y, generator=torch.Generator().manual_seed(1), return_params=True)
    assert type(params) is kind
    keys = set(params.keys())
    assert {"perm", "lam", "image_lam", "box", "mixed"} <= keys and "host" not in keys and "identity" not in keys
    assert "lam" in params and "nosuch" not in params and params.get("nosuch") is None
    assert params["lam"].shape == (6,) and params["lam"].dtype == torch.float32
    with pytest.raises(KeyError):
        params["host"]
    for replay in (params, dict(params), {**params}, {k: v.clone() for k, v in params.items()}, params.to("cpu")):
        again, ya = m(x, y, params=replay)
        assert torch.equal(again, out) and torch.equal(ya, ys)
    assert pickle.loads(pickle.dumps(params)).keys() == params.keys()
    with pytest.raises(ValueError, match="nosuch"):
        m(x, y, params={**params, "nosuch": torch.zeros(6)})


def test_host_draws_are_a_typed_field_built_on_first_read():
    """The CPU batch-wide draw is ``params.host`` (Python numbers); the tensors appear on the first read,
    and the returned ``perm`` is the caller's own (not the cache shared between calls)."""
    x, y = _x(b=8), torch.arange(8) % 5
    m = MixUp(1.0, num_classes=5)
    _, _, params = m(x, y, generator=torch.Generator().manual_seed(0), return_params=True)
    assert params.host is not None and params.lam is None and isinstance(params.host.lam, float)
    lam = params["lam"]
    assert params.host is None and torch.equal(lam, torch.full((8,), lam[0].item()))
    params["perm"].zero_()  # the caller may write to its copy
    _, _, again = m(x, y, generator=torch.Generator().manual_seed(0), return_params=True)
    assert again["perm"].unique().numel() == 8
    assert m.last_params is again


def test_identity_params_are_flagged_not_keyed():
    x, y = _x(b=4), torch.arange(4) % 5
    m = CutMix(0.0, num_classes=5)
    out, _, params = m(x, y, return_params=True)
    assert params.identity and "identity" not in params.keys() and torch.equal(out, x)
    assert torch.equal(params["lam"], torch.ones(4)) and not bool(params["mixed"].any())


def test_mosaic_params_are_typed_and_replay_from_a_dict():
    x = _x(b=4, h=16, w=16)
    op = Mosaic(target_size=(16, 16), cell_shape=(16, 16), p=1.0)
    out, params = op(x, generator=torch.Generator().manual_seed(0), return_params=True)
    assert type(params) is MosaicParams and set(params.keys()) == {"center", "sources", "apply"}
    assert torch.equal(op(x, params=dict(params)), out)
    with pytest.raises(TypeError, match="params"):
        op(x, params={"center": params["center"]})


def test_fmix_selection_mask_equals_the_argsort_mask():
    """The CPU one-mask path (kthvalue) gives exactly the stable-argsort ranks' mask, ties included."""
    from torchaug.mixing.fmix import top_num_mask

    g = torch.Generator().manual_seed(0)
    for flat in (torch.randn(1, 500, generator=g), torch.randint(0, 4, (1, 500), generator=g).float()):
        order = torch.argsort(flat, dim=1, descending=True, stable=True)
        ranks = torch.empty_like(order).scatter_(1, order, torch.arange(500).unsqueeze(0))
        for num in (0, 1, 137, 250, 499, 500):
            assert torch.equal(top_num_mask(flat, num), (ranks < num).float()), num
