"""MultiView: K batches per call, one stream per view, replay, ragged lists, the SimCLR / DINO configs."""

import pytest
import torch

from tests_support import generator_on, no_host_sync
from torchaug import preview
from torchaug.transforms import ColorJitter, Compose, MultiView, RandomHorizontalFlip, RandomResizedCrop


def _views():
    g = Compose([RandomResizedCrop(24, scale=(0.4, 1.0)), RandomHorizontalFlip()])
    loc = Compose([RandomResizedCrop(12, scale=(0.05, 0.4)), ColorJitter(brightness=0.4)])
    return MultiView([g, loc], n=[2, 3])


def _x(dtype=torch.uint8, b=4, device="cpu"):
    x = torch.randint(0, 256, (b, 3, 40, 36), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    return (x if dtype == torch.uint8 else x.float() / 255).to(device)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_outputs_replay_and_generator(dtype, device):
    mv = _views()
    x = _x(dtype, device=device)
    mv(x, generator=generator_on(device, 0))
    with no_host_sync(device):
        outs, params = mv(x, generator=generator_on(device, 0), return_params=True)
    assert [tuple(o.shape) for o in outs] == [(4, 3, 24, 24)] * 2 + [(4, 3, 12, 12)] * 3
    assert all(o.dtype == dtype and o.device == x.device for o in outs)
    again = mv(x, generator=generator_on(device, 0))
    assert all(torch.equal(a, b) for a, b in zip(outs, again))
    replay = mv(x, params=params)
    assert all(torch.equal(a, b) for a, b in zip(outs, replay))
    assert not torch.equal(outs[0], outs[1])  # two draws of one pipeline differ
    other = mv(x, generator=generator_on(device, 1))
    assert not torch.equal(other[0], outs[0])


def test_each_view_has_its_own_stream():
    """Changing the local view's count or pipeline leaves the global views' draws as they were."""
    x = _x()
    a = _views()
    b = MultiView([a.views[0], Compose([RandomResizedCrop(8)])], n=[2, 5])
    oa = a(x, generator=torch.Generator().manual_seed(3))
    ob = b(x, generator=torch.Generator().manual_seed(3))
    assert torch.equal(oa[0], ob[0]) and torch.equal(oa[1], ob[1])


def test_channels_last_and_global_rng():
    mv = _views()
    x = _x(torch.float32).contiguous(memory_format=torch.channels_last)
    torch.manual_seed(0)
    o1 = mv(x)
    torch.manual_seed(0)
    o2 = mv(x)
    assert all(torch.equal(a, b) for a, b in zip(o1, o2))
    assert all(o.is_contiguous(memory_format=torch.channels_last) for o in o1)


def test_ragged_list_in():
    mv = _views()
    imgs = [torch.randint(0, 256, (3, 30 + 7 * i, 50 - 5 * i), dtype=torch.uint8) for i in range(3)]
    outs, params = mv(imgs, generator=torch.Generator().manual_seed(0), return_params=True)
    assert [tuple(o.shape) for o in outs] == [(3, 3, 24, 24)] * 2 + [(3, 3, 12, 12)] * 3
    assert all(torch.equal(a, b) for a, b in zip(outs, mv(imgs, params=params)))
    # sample i of a view equals the view's pipeline on image i alone with its slice of the params
    for v in (0, 3):
        pipe = mv.views[0 if v < 2 else 1]
        sliced = [{k: t[1:2] for k, t in p.items()} for p in params[v]]
        alone = pipe(imgs[1].unsqueeze(0), params=sliced)
        assert torch.equal(alone[0], outs[v][1])


def test_errors():
    with pytest.raises(ValueError, match="MultiView: n must have one entry per view"):
        MultiView([RandomHorizontalFlip()], n=[1, 2])
    with pytest.raises(ValueError, match=r"MultiView: n\[0\] must be a positive int"):
        MultiView([RandomHorizontalFlip()], n=[0])
    with pytest.raises(TypeError, match=r"MultiView: views\[0\]"):
        MultiView([lambda x: x])
    with pytest.raises(ValueError, match="MultiView: params must be the list"):
        _views()(_x(), params=[None])


@pytest.mark.parametrize("name,shapes", [("simclr_views", [(2, 3, 224, 224)] * 2),
                                         ("dino_views", [(2, 3, 224, 224)] * 2 + [(2, 3, 96, 96)] * 6)])
def test_configs_compose_and_run(name, shapes, tmp_path):
    mv = preview.load_config("transforms", name)
    assert isinstance(mv, MultiView)
    x, _ = preview.sample_photos(2, 256)
    outs = mv(x, generator=torch.Generator().manual_seed(0))
    assert [tuple(o.shape) for o in outs] == shapes
    out = preview.preview_views(mv, tmp_path / f"{name}.png", n=2, size=256)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
