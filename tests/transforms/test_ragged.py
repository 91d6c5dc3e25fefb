"""Ragged batches: lists of (C, H, W) images of different sizes through the size-changing ops."""

from __future__ import annotations

import pytest
import torch

from torchaug.transforms import (CenterCrop, ColorJitter, Compose, RandomCrop, RandomHorizontalFlip, RandomResizedCrop,
                                 Resize)

SIZES = [(50, 70), (64, 40), (33, 33), (20, 90), (71, 52)]


def images(dtype=torch.uint8, sizes=SIZES, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for h, w in sizes:
        x = torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8)
        out.append(x if dtype == torch.uint8 else x.to(dtype) / 255)
    return out


def one(params, i):
    return {k: v[i : i + 1] for k, v in params.items()}


def check_per_image(op, imgs, out, params, atol=0):
    assert out.shape[0] == len(imgs)
    for i, img in enumerate(imgs):
        ref = op(img[None], params=one(params, i))
        assert ref.shape[1:] == out.shape[1:]
        if atol == 0:
            assert torch.equal(ref[0], out[i]), i
        else:
            assert (ref[0].double() - out[i].double()).abs().max() <= atol, i


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("kwargs", [{}, {"p": 0.5}, {"interpolation": "nearest"}, {"scale": (0.5, 1.0), "antialias": False}])
def test_random_resized_crop_list_equals_per_image(dtype, kwargs):
    op = RandomResizedCrop((24, 20), **kwargs)
    imgs = images(dtype)
    out, params = op(imgs, generator=torch.Generator().manual_seed(1), return_params=True)
    assert out.shape == (5, 3, 24, 20) and out.dtype == dtype
    check_per_image(op, imgs, out, params)


def test_random_resized_crop_list_of_hwc_views_equals_per_image():
    # decoded files are (C, H, W) views of HWC memory (torchvision.io.decode_image); the output is contiguous
    imgs = [t.permute(1, 2, 0).contiguous().permute(2, 0, 1) for t in images()]
    op = RandomResizedCrop(24)
    out, params = op(imgs, generator=torch.Generator().manual_seed(7), return_params=True)
    assert out.is_contiguous()
    check_per_image(op, imgs, out, params)


def test_random_resized_crop_list_separable_within_one_level():
    op = RandomResizedCrop(16, method="separable")
    imgs = images()
    out, params = op(imgs, generator=torch.Generator().manual_seed(2), return_params=True)
    ref = RandomResizedCrop(16, method="loop")
    check_per_image(ref, imgs, out, params, atol=1)


def test_equal_sizes_draw_the_batch_params():
    imgs = images(sizes=[(40, 30)] * 6)
    for op in (RandomResizedCrop(12, p=0.7), RandomCrop(20, padding=3, p=0.6)):
        _, pl = op(imgs, generator=torch.Generator().manual_seed(5), return_params=True)
        _, pb = op(torch.stack(imgs), generator=torch.Generator().manual_seed(5), return_params=True)
        assert pl.keys() == pb.keys()
        for k in pb:
            assert torch.equal(pl[k], pb[k]), (type(op).__name__, k)


def test_random_resized_crop_fallback_for_extreme_aspect():
    # a 4x200 strip: no box of aspect 3/4..4/3 and scale >= 0.9 fits, so every sample takes the centre fallback
    imgs = images(sizes=[(4, 200), (200, 4)])
    op = RandomResizedCrop(8, scale=(0.9, 1.0))
    out, params = op(imgs, generator=torch.Generator().manual_seed(0), return_params=True)
    assert params["height"].tolist() == [4, 5] and params["width"].tolist() == [5, 4]
    check_per_image(op, imgs, out, params)


@pytest.mark.parametrize("kwargs", [
    {"padding": 4}, {"padding": (2, 5), "padding_mode": "reflect"}, {"pad_if_needed": True, "padding_mode": "edge"},
    {"pad_if_needed": True, "fill": 7, "p": 0.5}, {"padding": 3, "padding_mode": "symmetric"},
])
def test_random_crop_list_equals_per_image(kwargs):
    op = RandomCrop(30, **kwargs) if kwargs.get("pad_if_needed") else RandomCrop(18, **kwargs)
    imgs = images()
    out, params = op(imgs, generator=torch.Generator().manual_seed(3), return_params=True)
    check_per_image(op, imgs, out, params)


def test_random_crop_list_too_small_names_pad_if_needed():
    with pytest.raises(ValueError, match="pad_if_needed"):
        RandomCrop(40)(images())


def test_center_crop_list_pads_small_images():
    op = CenterCrop((40, 36))
    imgs = images()
    out = op(imgs)
    assert out.shape == (5, 3, 40, 36)
    for i, img in enumerate(imgs):
        assert torch.equal(op(img[None])[0], out[i])


def test_resize_fixed_size_is_a_batch_and_shorter_side_a_list():
    imgs = images()
    out = Resize((16, 12))(imgs)
    assert out.shape == (5, 3, 16, 12)
    for i, img in enumerate(imgs):
        assert torch.equal(Resize((16, 12))(img[None])[0], out[i])
    short = Resize(20)(imgs)
    assert isinstance(short, list) and [min(t.shape[-2:]) for t in short] == [20] * 5
    for i, img in enumerate(imgs):
        assert torch.equal(Resize(20)(img[None])[0], short[i])


def test_compose_runs_leading_ops_on_the_list_then_the_batch():
    imgs = images()
    pipe = Compose([RandomResizedCrop(16), RandomHorizontalFlip(), ColorJitter(0.4, 0.4, 0.4)])
    out, params = pipe(imgs, generator=torch.Generator().manual_seed(4), return_params=True)
    assert out.shape == (5, 3, 16, 16) and out.dtype == torch.uint8
    # replay: the same output; and the tail equals the batch pipeline on the cropped batch
    again = pipe(imgs, params=params)
    assert torch.equal(again, out)
    crop = pipe.transforms[0](imgs, params=params[0])
    tail = Compose(list(pipe.transforms)[1:])(crop, params=params[1:])
    assert torch.equal(tail, out)
    # eval pipeline: Resize(shorter side) -> list -> CenterCrop -> batch
    ev = Compose([Resize(20), CenterCrop(18)])(imgs)
    assert ev.shape == (5, 3, 18, 18)


def test_same_seed_same_result_and_inputs_untouched():
    imgs = images()
    copies = [t.clone() for t in imgs]
    pipe = Compose([RandomResizedCrop(16), RandomHorizontalFlip()])
    a = pipe(imgs, generator=torch.Generator().manual_seed(9))
    b = pipe(imgs, generator=torch.Generator().manual_seed(9))
    assert torch.equal(a, b)
    assert all(torch.equal(x, y) for x, y in zip(imgs, copies))


def test_list_errors_name_the_problem():
    imgs = images()
    with pytest.raises(TypeError, match="RandomResizedCrop"):
        RandomHorizontalFlip()(imgs)
    with pytest.raises(ValueError, match="share dtype"):
        RandomResizedCrop(8)([imgs[0], imgs[1].float() / 255])
    with pytest.raises(ValueError, match="one entry per image"):
        RandomResizedCrop(8)(imgs, params={"top": torch.zeros(2, dtype=torch.long)})
    # equal sizes are stacked for any op
    same = images(sizes=[(10, 12)] * 3)
    assert RandomHorizontalFlip(p=1.0)(same).shape == (3, 3, 10, 12)


def test_custom_op_adds_list_support():
    from torchaug.transforms import RandomHorizontalFlip as Flip

    class FirstRows(Flip):
        def ragged_params(self, sizes, generator):
            return {"rows": sizes[:, 0].clamp_max(4)}

        def transform_ragged(self, images, params):
            return torch.stack([t[:, :4, :4] for t in images])

    out = FirstRows()(images())
    assert out.shape == (5, 3, 4, 4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_list_matches_cpu_within_one_level():
    imgs = images()
    op = RandomResizedCrop(24)
    out_cpu, params = op(imgs, generator=torch.Generator().manual_seed(0), return_params=True)
    cuda = [t.cuda() for t in imgs]
    out = op(cuda, params={k: v.cuda() for k, v in params.items()})
    assert out.device.type == "cuda" and (out.cpu().int() - out_cpu.int()).abs().max() <= 1
    pipe = Compose([RandomResizedCrop(16), RandomHorizontalFlip(), ColorJitter(0.4, 0.4, 0.4)])
    assert pipe(cuda, generator=torch.Generator("cuda").manual_seed(0)).shape == (5, 3, 16, 16)
