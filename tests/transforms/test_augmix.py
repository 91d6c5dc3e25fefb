"""AugMix: torchvision v2 parity given the same draws, per-sample draws, the split form, argument errors."""

from __future__ import annotations

import pytest
import torch

from torchaug.transforms import AugMix
from torchaug.transforms.policies import OPS

tv2 = pytest.importorskip("torchvision.transforms.v2")


def _images(b=4, h=32, w=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    base = torch.randint(0, 256, (b, 3, h // 4, w // 4), generator=g, dtype=torch.uint8)
    # smooth-ish content so that warps and equalize see structure, not noise
    x = torch.nn.functional.interpolate(base.float(), size=(h, w), mode="bilinear", align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8)


def _replay_torchvision(x, *, seed, **kwargs):
    """Run torchvision's AugMix, recording its draws; return (its output, our params for them)."""
    t = tv2.AugMix(**kwargs)
    calls, dirichlets, first = [], [], []
    apply, sample = t._apply_image_or_video_transform, t._sample_dirichlet

    def rec_apply(image, transform_id, magnitude, **kw):
        first.append(image) if not first else None  # every chain starts from torchvision's reshaped batch
        calls.append((image is first[0], transform_id, magnitude))
        return apply(image, transform_id, magnitude, **kw)

    def rec_dirichlet(params):
        out = sample(params)
        dirichlets.append(out)
        return out

    t._apply_image_or_video_transform, t._sample_dirichlet = rec_apply, rec_dirichlet
    torch.manual_seed(seed)
    out = t(x)
    chains: list[list[tuple[str, float]]] = []
    for starts, name, mag in calls:
        if starts:
            chains.append([])
        chains[-1].append((name, mag))
    width = kwargs.get("mixture_width", 3)
    assert len(chains) == width
    depth = max(3 if kwargs.get("chain_depth", -1) < 0 else kwargs["chain_depth"], max(len(c) for c in chains))
    B = x.shape[0]
    op = torch.zeros(B, width, depth, dtype=torch.long)
    magnitude = torch.zeros(B, width, depth, dtype=torch.float64)
    for i, chain in enumerate(chains):
        for d, (name, mag) in enumerate(chain):
            op[:, i, d] = OPS.index(name)
            magnitude[:, i, d] = mag
    m, w = dirichlets
    weights = torch.cat([m[:, :1], w * m[:, 1:]], 1).float()
    return out, {"op": op, "magnitude": magnitude, "weights": weights}


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"chain_depth": 2, "severity": 5, "interpolation": "nearest"},
        {"all_ops": False, "severity": 10, "mixture_width": 2},
        {"chain_depth": 3, "alpha": 0.5, "fill": [0.5, 0.25, 1.0]},
    ],
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_parity_with_torchvision_given_its_draws(kwargs, seed):
    x = _images()
    tv_kwargs = dict(kwargs)
    if "fill" in tv_kwargs:  # torchvision takes fill on the image's scale
        tv_kwargs["fill"] = [round(v * 255) for v in tv_kwargs["fill"]]
    ref, params = _replay_torchvision(x, seed=seed, **tv_kwargs)
    ours = AugMix(**kwargs)(x, params=params)
    assert ours.dtype == torch.uint8 and ours.shape == x.shape
    # bit-exact: the same kernels as torchvision per op, the same float32 mix in chain order, truncation
    assert torch.equal(ours, ref), (ours.int() - ref.int()).abs().max()


def test_float_input_parity_with_torchvision():
    x = _images().float() / 255
    ref, params = _replay_torchvision(x, seed=3, chain_depth=1, all_ops=False)
    ours = AugMix(chain_depth=1, all_ops=False)(x, params=params)
    assert ours.dtype == torch.float32
    torch.testing.assert_close(ours, ref, atol=2e-2, rtol=0)  # bilinear warps of float images agree to ~1/255


def test_per_sample_draws_and_weights():
    x = _images(b=64)
    t = AugMix()
    _, p = t(x, generator=torch.Generator().manual_seed(0), return_params=True)
    assert p["op"].shape == (64, 3, 3) and p["weights"].shape == (64, 4)
    torch.testing.assert_close(p["weights"].sum(1), torch.ones(64))
    assert (p["weights"] >= 0).all()
    # chains differ between samples (torchvision draws one set of chains per call)
    assert len({tuple(r.flatten().tolist()) for r in p["op"]}) > 32
    # depth 1..3: the first slot always holds an op, later slots Identity past the depth
    identity = OPS.index("Identity")
    assert (p["op"][..., 0] != identity).all()
    live = p["op"] != identity
    assert (live[..., 1:] <= live[..., :-1]).all()
    depths = live.sum(-1)
    assert set(depths.unique().tolist()) == {1, 2, 3}
    # all_ops=False never draws the colour ops
    _, p2 = AugMix(all_ops=False)(x, generator=torch.Generator().manual_seed(0), return_params=True)
    colour = {OPS.index(n) for n in ("Brightness", "Color", "Contrast", "Sharpness")}
    assert not colour & set(p2["op"].unique().tolist())


def test_generator_reproducible_and_replay():
    x = _images()
    t = AugMix()
    a, p = t(x, generator=torch.Generator().manual_seed(5), return_params=True)
    b = t(x, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    assert torch.equal(t(x, params=p), a)


def test_weight_one_on_the_original_gives_the_original():
    x = _images()
    t = AugMix()
    _, p = t(x, generator=torch.Generator().manual_seed(0), return_params=True)
    p["weights"] = torch.zeros_like(p["weights"])
    p["weights"][:, 0] = 1.0
    assert torch.equal(t(x, params=p), x)


def test_split_form_is_clean_then_views():
    x = _images(b=5)
    t = AugMix(num_splits=3)
    out, p = t(x, generator=torch.Generator().manual_seed(0), return_params=True)
    assert out.shape == (15, 3, 32, 32)
    assert torch.equal(out[:5], x)  # timm: the first split is the clean image
    assert not torch.equal(out[5:10], out[10:])  # the two views draw their own chains
    assert p["op"].shape[0] == 10
    with pytest.raises(TypeError, match="num_splits"):
        t(x[0])


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        ({"severity": 0}, ValueError, "severity"),
        ({"severity": 11}, ValueError, "severity"),
        ({"chain_depth": 0}, ValueError, "chain_depth"),
        ({"mixture_width": 0}, ValueError, "mixture_width"),
        ({"alpha": 0.0}, ValueError, "alpha"),
        ({"all_ops": 1}, TypeError, "all_ops"),
        ({"interpolation": "bicubic"}, ValueError, "interpolation"),
        ({"num_splits": -1}, ValueError, "num_splits"),
    ],
)
def test_bad_arguments(kwargs, err, match):
    with pytest.raises(err, match=match):
        AugMix(**kwargs)


def test_split_form_reads_nothing_back_on_the_accelerator_path():
    import torchaug
    from tests.tests_support import forbid_host_reads

    x = _images()
    t = AugMix(num_splits=3)
    ref = t(x, generator=torch.Generator().manual_seed(0))
    with torchaug.accelerator_path(), forbid_host_reads():
        out = t(x, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out, ref)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_chunked_cpu_run_equals_one_whole_batch_call(dtype):
    from torchaug._cpu.thresholds import override_thresholds

    x = _images() if dtype == torch.uint8 else _images().float() / 255
    t = AugMix(num_splits=2)
    with override_thresholds(policy_chunk_bytes=1 << 40, parallel_min_bytes=1 << 40):
        whole, p = t(x, generator=torch.Generator().manual_seed(4), return_params=True)
    with override_thresholds(policy_chunk_bytes=x[:3].numel() * 4, parallel_min_bytes=1):
        chunked = t(x, params=p)  # chunks of 3 samples over the threads
    assert torch.equal(chunked, whole)
