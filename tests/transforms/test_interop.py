"""torchvision interop (issue 18): nested samples, torchvision's plain-tensor rule, PIL/numpy,
video clips, containers passing the whole sample, host reads, the Hugging Face helper."""

from __future__ import annotations

import contextlib
import itertools

import numpy as np
import PIL.Image
import pytest
import torch
from torchvision import tv_tensors as tv
from torchvision.transforms import v2

from tests_support import HostReadError, forbid_host_reads
from torchaug._devpath import accelerator_path
from torchaug._validation import value_checks
from torchaug.transforms import (
    ColorJitter,
    Compose,
    GaussianNoise,
    RandAugment,
    RandomAffine,
    RandomApply,
    RandomChoice,
    RandomCrop,
    RandomHorizontalFlip,
    RandomOrder,
    RandomResizedCrop,
    RandomVerticalFlip,
)
from torchaug.transforms.targets import boxes_valid


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _img(b=None, h=32, w=32, seed=0):
    g = _gen(seed)
    shape = (3, h, w) if b is None else (b, 3, h, w)
    return torch.randint(0, 256, shape, generator=g, dtype=torch.uint8)


# --- the reproduction -----------------------------------------------------------------
def test_flip_moves_the_boxes_of_a_nested_detection_target():
    img = tv.Image(_img())
    target = {"boxes": tv.BoundingBoxes([[0, 0, 10, 10]], format="XYXY", canvas_size=(32, 32)),
              "labels": torch.tensor([3]), "masks": tv.Mask(torch.zeros(1, 32, 32, dtype=torch.uint8))}
    out_img, out_t = RandomHorizontalFlip(p=1.0)(img, target)
    ref_img, ref_t = v2.RandomHorizontalFlip(p=1.0)(img, target)
    assert type(out_img) is tv.Image and torch.equal(out_img, ref_img)
    assert out_t["boxes"].tolist() == [[22, 0, 32, 10]] == ref_t["boxes"].tolist()
    assert type(out_t["boxes"]) is tv.BoundingBoxes and out_t["boxes"].canvas_size == (32, 32)
    assert torch.equal(out_t["labels"], target["labels"]) and type(out_t["masks"]) is tv.Mask
    # the same sample as one tuple argument, as a Dataset returns it
    (o2, t2) = RandomHorizontalFlip(p=1.0)((img, target))
    assert torch.equal(o2, out_img) and torch.equal(t2["boxes"], out_t["boxes"])


# --- torchvision's rule for plain tensors: the cases of its own test ---------------------------
def _leaves():
    g = _gen(1)
    plain1 = torch.randint(0, 256, (3, 8, 8), generator=g, dtype=torch.uint8)
    plain2 = torch.randint(0, 256, (3, 8, 8), generator=g, dtype=torch.uint8)
    pil = PIL.Image.fromarray(torch.randint(0, 256, (8, 8, 3), generator=g, dtype=torch.uint8).numpy())
    image = tv.Image(torch.randint(0, 256, (3, 8, 8), generator=g, dtype=torch.uint8))
    video = tv.Video(torch.randint(0, 256, (2, 3, 8, 8), generator=g, dtype=torch.uint8))
    return [plain1, plain2, pil, image, video]


def _flipped(out, inp):
    if isinstance(inp, PIL.Image.Image):
        return np.array_equal(np.asarray(out), np.asarray(inp)[:, ::-1])
    return torch.equal(torch.as_tensor(out), inp.flip(-1))


@pytest.mark.parametrize("perm", list(itertools.permutations(range(5), 3)), ids=str)
def test_plain_tensor_rule_matches_torchvision(perm):
    leaves = _leaves()
    sample = [leaves[k] for k in perm]
    ours = RandomHorizontalFlip(p=1.0)(*sample)
    theirs = v2.RandomHorizontalFlip(p=1.0)(*sample)
    for o, t, i in zip(ours, theirs, sample):
        assert type(o) is type(i)
        assert _flipped(o, i) == _flipped(t, i), (type(i).__name__, perm)


def test_any_depth_and_passthrough_of_other_leaves():
    x = _img(b=2)
    boxes = [tv.BoundingBoxes([[1, 2, 5, 6]], format="XYXY", canvas_size=(32, 32)),
             tv.BoundingBoxes([[0, 0, 4, 4], [8, 8, 9, 12]], format="XYXY", canvas_size=(32, 32))]
    sample = {"a": [("meta", 7, {"img": tv.Image(x), "extra": torch.arange(3)})], "b": {"deep": {"boxes": boxes}}, "s": "id"}
    out = RandomVerticalFlip(p=1.0)(sample)
    assert torch.equal(out["a"][0][2]["img"], x.flip(-2)) and torch.equal(out["a"][0][2]["extra"], torch.arange(3))
    assert out["a"][0][:2] == ("meta", 7) and out["s"] == "id"
    got = out["b"]["deep"]["boxes"]  # per-image boxes of the batch of 2, different counts
    assert [b.tolist() for b in got] == [[[1, 26, 5, 30]], [[0, 28, 4, 32], [8, 20, 9, 24]]]


def test_unknown_tv_tensor_raises_for_geometric_ops_and_passes_colour_ops():
    class Depth(tv.TVTensor):
        pass

    depth = torch.rand(1, 16, 16).as_subclass(Depth)
    img = tv.Image(_img(h=16, w=16))
    with pytest.raises(TypeError, match="RandomHorizontalFlip: cannot move Depth"):
        RandomHorizontalFlip(p=1.0)(img, depth)
    with pytest.raises(TypeError, match="Compose: cannot move Depth"):
        Compose([ColorJitter(0.2), RandomHorizontalFlip()])(img, depth)
    out, d = ColorJitter(brightness=0.3)(img, depth, generator=_gen())
    assert d is depth


@pytest.mark.parametrize("fmt", ["XYXY", "XYWH", "CXCYWH"])
def test_boxes_keep_type_format_canvas_and_validity(fmt):
    from torchvision.ops import box_convert

    xyxy = torch.tensor([[2.0, 3.0, 12.0, 9.0], [30.0, 0.0, 32.0, 2.0]])
    bb = tv.BoundingBoxes(box_convert(xyxy, "xyxy", fmt.lower()), format=fmt, canvas_size=(32, 32))
    t = RandomCrop(16, padding=0)
    params = {"top": torch.tensor([0]), "left": torch.tensor([0])}
    img, out = t(tv.Image(_img()), bb, params=params)
    assert type(out) is tv.BoundingBoxes and out.format == bb.format and out.canvas_size == (16, 16)
    assert torch.allclose(box_convert(out.as_subclass(torch.Tensor), fmt.lower(), "xyxy"), torch.tensor([[2.0, 3.0, 12.0, 9.0], [16.0, 0.0, 16.0, 2.0]]))
    assert boxes_valid(out).tolist() == [True, False]  # positional form: the flag from the boxes
    d = t({"image": _img(), "boxes": bb}, params=params)
    assert d["boxes_valid"].tolist() == [True, False]  # dict form: returned alongside


def test_several_images_of_a_sample_share_parameters():
    x = _img(h=20, w=24)
    a, b, m = tv.Image(x), tv.Image(x.float() / 255), tv.Mask(x[0] > 128)
    oa, ob, om = RandomAffine(degrees=30, translate=(0.2, 0.2))(a, b, m, generator=_gen())
    assert torch.equal(oa, (ob * 255).round().to(torch.uint8)) or (oa.int() - (ob * 255).round().int()).abs().max() <= 1
    assert not torch.equal(oa, a)
    with pytest.raises(ValueError, match="same batch size and height/width"):
        RandomHorizontalFlip()(tv.Image(x), tv.Image(_img(h=8, w=8)))


# --- PIL / numpy, and the README user story ------------------------------------------------------
def test_pil_and_numpy_come_back_in_their_form():
    arr = _img(h=20, w=24).permute(1, 2, 0).contiguous().numpy()
    pil = PIL.Image.fromarray(arr)
    out = RandomHorizontalFlip(p=1.0)(pil)
    assert isinstance(out, PIL.Image.Image) and out.size == (24, 20) and np.array_equal(np.asarray(out), arr[:, ::-1])
    out = RandomHorizontalFlip(p=1.0)(arr)
    assert isinstance(out, np.ndarray) and out.dtype == np.uint8 and np.array_equal(out, arr[:, ::-1])
    gray = (arr[..., 0].astype(np.float32) / 255)
    out = RandomVerticalFlip(p=1.0)(gray)
    assert out.shape == gray.shape and out.dtype == np.float32 and np.array_equal(out, gray[::-1])
    # a list of PIL images is a batch: each its own parameters, a list comes back
    pils = [PIL.Image.fromarray(_img(seed=s).permute(1, 2, 0).numpy()) for s in range(6)]
    outs = RandomCrop(16)(pils, generator=_gen())
    assert isinstance(outs, list) and len(outs) == 6 and all(o.size == (16, 16) for o in outs)
    _, p = RandomCrop(16)(pils, generator=_gen(), return_params=True)
    assert len({(int(a), int(b)) for a, b in zip(p["top"], p["left"])}) > 1
    with pytest.raises(ValueError, match="one size"):
        RandomCrop(8)([pils[0], pils[0].resize((20, 20))])


def test_readme_user_story_dataset_loop_and_v2_compose():
    from torch.utils.data import DataLoader, Dataset

    pipeline = Compose([RandomResizedCrop(24, scale=(0.5, 1.0)), RandomHorizontalFlip(), ColorJitter(0.2, 0.2)])

    class Photos(Dataset):
        def __init__(self, transform):
            self.transform = transform
            self.images = [PIL.Image.fromarray(_img(seed=s).permute(1, 2, 0).numpy()) for s in range(8)]

        def __len__(self):
            return len(self.images)

        def __getitem__(self, i):
            box = tv.BoundingBoxes([[4, 4, 20, 20]], format="XYXY", canvas_size=(32, 32))
            return self.transform(tv.Image(v2.functional.pil_to_tensor(self.images[i])), {"boxes": box, "label": i})

    # 1) Dataset(transform=torchaug pipeline): each sample a batch of one
    ds = Photos(pipeline)
    img, target = ds[3]
    assert type(img) is tv.Image and img.shape == (3, 24, 24) and target["label"] == 3
    assert type(target["boxes"]) is tv.BoundingBoxes and target["boxes"].canvas_size == (24, 24)
    # 2) a plain loop over a DataLoader (torchvision's detection collate: tuples)
    loader = DataLoader(ds, batch_size=4, collate_fn=lambda b: tuple(zip(*b)))
    n = 0
    for imgs, targets in loader:
        n += len(imgs)
        assert all(i.shape == (3, 24, 24) for i in imgs) and all(t["boxes"].canvas_size == (24, 24) for t in targets)
    assert n == 8
    # 3) a torchaug op inside torchvision's v2.Compose, per PIL sample, with a seeded torch RNG
    tvpipe = v2.Compose([v2.PILToTensor(), RandomResizedCrop(24, scale=(0.5, 1.0)), v2.RandomHorizontalFlip()])
    torch.manual_seed(0)
    a = tvpipe(ds.images[0])
    torch.manual_seed(0)
    b = tvpipe(ds.images[0])
    assert a.shape == (3, 24, 24) and torch.equal(a, b)
    pil_pipe = v2.Compose([RandomHorizontalFlip(p=1.0), v2.PILToTensor()])
    assert torch.equal(pil_pipe(ds.images[1]), v2.functional.pil_to_tensor(ds.images[1]).flip(-1))


# --- video ------------------------------------------------------------------------------------------
def test_video_clips_share_one_parameter_set_per_clip():
    frame = _img(b=3, h=20, w=20)  # one frame per clip, repeated: frames of a clip must stay equal
    clips = frame.unsqueeze(1).expand(3, 4, 3, 20, 20).contiguous()
    t = RandomAffine(degrees=40, translate=(0.2, 0.2))
    out, p = t(clips, generator=_gen(), return_params=True)
    assert out.shape == clips.shape and p["angle"].shape == (3,)
    assert all(torch.equal(out[i, 0], out[i, k]) for i in range(3) for k in range(4))
    assert not torch.equal(out[0, 0], out[1, 0].roll(0))
    vid = tv.Video(clips[0])
    out_v, mask = t(vid, tv.Mask(clips[0, 0, 0] > 128), generator=_gen())
    assert type(out_v) is tv.Video and out_v.shape == (4, 3, 20, 20) and type(mask) is tv.Mask
    assert all(torch.equal(out_v[0], out_v[k]) for k in range(4))
    # per-frame draws where that makes sense (noise); refused for geometric ops with clip targets
    noisy = GaussianNoise(sigma=0.1)(clips.float() / 255, generator=_gen(), per_frame=True)
    assert not torch.equal(noisy[0, 0], noisy[0, 1])
    with pytest.raises(TypeError, match="per_frame"):
        t(vid, tv.Mask(clips[0, 0, 0] > 128), per_frame=True)


def test_containers_and_policies_on_clips():
    clips = _img(b=2, h=20, w=20).unsqueeze(1).expand(2, 3, 3, 20, 20).contiguous()
    for t in (Compose([RandomCrop(16, padding=2), RandomHorizontalFlip()]), RandomApply([RandomVerticalFlip(p=1.0)]),
              RandomChoice([RandomHorizontalFlip(p=1.0), RandomAffine(20)]), RandAugment(2, 9)):
        out = t(clips, generator=_gen(1))
        assert out.shape[:3] == (2, 3, 3)
        assert all(torch.equal(out[i, 0], out[i, k]) for i in range(2) for k in range(3)), type(t).__name__


# --- containers ---------------------------------------------------------------------------------
def test_torchvision_transform_inside_compose_gets_the_whole_sample():
    img = tv.Image(_img())
    target = {"boxes": tv.BoundingBoxes([[0, 0, 10, 10]], format="XYXY", canvas_size=(32, 32)), "labels": torch.tensor([1])}
    out_img, out_t = Compose([v2.RandomHorizontalFlip(p=1.0), RandomVerticalFlip(p=1.0)])(img, target)
    assert torch.equal(out_img, img.flip(-1).flip(-2))
    assert out_t["boxes"].tolist() == [[22, 22, 32, 32]]


def test_image_only_callable_with_targets_raises_before_anything_runs():
    calls = []

    class Spy(RandomHorizontalFlip):
        def transform(self, x, params):
            calls.append(1)
            return super().transform(x, params)

    img = tv.Image(_img())
    box = tv.BoundingBoxes([[0, 0, 10, 10]], format="XYXY", canvas_size=(32, 32))
    with pytest.raises(TypeError, match="sees the image tensor alone"):
        Compose([Spy(p=1.0), lambda x: x.flip(-1)])(img, box)
    with pytest.raises(TypeError, match="sees the image tensor alone"):
        Compose([Spy(p=1.0), RandomApply([lambda x: x])])(img, box)
    assert calls == []
    assert torch.equal(Compose([Spy(p=1.0), lambda x: x.flip(-1)])(img), img)  # no targets: fine


@pytest.mark.parametrize("accel", [False, True], ids=["cpu-gather", "accelerator-path"])
def test_random_apply_and_choice_select_per_sample_with_targets(accel):
    with accelerator_path() if accel else contextlib.nullcontext():
        _select_per_sample()


def _select_per_sample():
    x = _img(b=8, h=16, w=16)
    boxes = torch.tensor([[1.0, 2.0, 5.0, 9.0]]).expand(8, 1, 4).clone()
    out, p = RandomApply([RandomHorizontalFlip(p=1.0)], p=0.5)({"image": x, "boxes": boxes}, generator=_gen(), return_params=True)
    for i in range(8):
        flip = bool(p["apply"][i])
        assert torch.equal(out["image"][i], x[i].flip(-1) if flip else x[i])
        assert out["boxes"][i, 0].tolist() == ([11.0, 2.0, 15.0, 9.0] if flip else [1.0, 2.0, 5.0, 9.0])
    out, p = RandomChoice([RandomHorizontalFlip(p=1.0), RandomVerticalFlip(p=1.0)])({"image": x, "boxes": boxes}, generator=_gen(1), return_params=True)
    assert set(p["choice"].tolist()) == {0, 1}
    for i in range(8):
        h = int(p["choice"][i]) == 0
        assert torch.equal(out["image"][i], x[i].flip(-1) if h else x[i].flip(-2))
        assert out["boxes"][i, 0].tolist() == ([11.0, 2.0, 15.0, 9.0] if h else [1.0, 7.0, 5.0, 14.0])


def test_container_selection_reads_nothing_back_on_the_device_path():
    """Issue 17 item 10: RandomApply/RandomChoice/RandomOrder keep their selection on the device."""
    x = _img(b=6, h=16, w=16)
    sample = {"image": x, "boxes": torch.tensor([[1.0, 2.0, 5.0, 9.0]]).expand(6, 1, 4).clone(), "mask": x[:, 0] > 100}
    pipes = [RandomApply([RandomHorizontalFlip(p=1.0), RandomCrop(16, padding=2)], p=0.5),
             RandomChoice([RandomHorizontalFlip(p=1.0), RandomCrop(16, padding=2), RandomVerticalFlip(p=0.5)]),
             Compose([RandomApply([RandomVerticalFlip()]), RandomChoice([RandomHorizontalFlip(), RandomCrop(16, padding=1)])])]
    pipes.append(RandomOrder([RandomHorizontalFlip(), RandomVerticalFlip(), RandomCrop(16, padding=1)]))
    with value_checks("never"):
        with accelerator_path():
            for t in pipes:
                t(x, generator=_gen())  # warm-up: constants are made once per device
                t(sample, generator=_gen())
                with forbid_host_reads():
                    t(x, generator=_gen())
                    t(sample, generator=_gen())
        metas = [RandomOrder([RandomHorizontalFlip(), RandomVerticalFlip()]), RandomApply([RandomHorizontalFlip(p=1.0)], p=0.5),
                 RandomChoice([RandomHorizontalFlip(p=1.0), RandomVerticalFlip(p=1.0)])]
        for t in metas:  # meta tensors take the device path by themselves
            t(x.to("meta"))  # warm-up (constants)
            with forbid_host_reads():
                assert t(x.to("meta")).device.type == "meta"
        # the check itself bites: the CPU gather path reads the indices
        with pytest.raises(HostReadError), forbid_host_reads():
            RandomApply([RandomHorizontalFlip(p=1.0)], p=0.5)(x, generator=_gen())


# --- Hugging Face datasets ----------------------------------------------------------------------
@pytest.mark.peer
def test_hugging_face_with_transform_helper():
    datasets = pytest.importorskip("datasets")
    from torchaug.transforms.huggingface import hf_transform

    pils = [PIL.Image.fromarray(_img(seed=s).permute(1, 2, 0).numpy()) for s in range(5)]
    pils.append(PIL.Image.fromarray(_img(seed=9, h=40, w=36).permute(1, 2, 0).numpy()))  # another size
    ds = datasets.Dataset.from_dict({"image": pils, "label": list(range(6))}).cast_column("image", datasets.Image())
    fn = hf_transform(Compose([RandomCrop(16), RandomHorizontalFlip()]), generator=_gen())
    rows = ds.with_transform(fn)[0:6]
    assert rows["label"] == list(range(6))
    assert all(isinstance(t, torch.Tensor) and t.shape == (3, 16, 16) and t.dtype == torch.uint8 for t in rows["image"])
    again = ds.with_transform(hf_transform(Compose([RandomCrop(16), RandomHorizontalFlip()]), generator=_gen()))[0:6]
    assert all(torch.equal(a, b) for a, b in zip(rows["image"], again["image"]))
    same = ds.with_transform(hf_transform(RandomHorizontalFlip(p=1.0), output="same"))[0:2]["image"]
    assert isinstance(same[0], PIL.Image.Image) and np.array_equal(np.asarray(same[0]), np.asarray(pils[0])[:, ::-1])
    with pytest.raises(ValueError, match="no column 'img'"):
        ds.with_transform(hf_transform(RandomHorizontalFlip(), image_column="img"))[0:2]
    tv_rows = ds.with_transform(hf_transform(v2.RandomHorizontalFlip(p=1.0)))[0:2]["image"]  # any callable
    assert torch.equal(tv_rows[0], v2.functional.pil_to_tensor(pils[0]).flip(-1))
    with pytest.raises(TypeError, match="takes no generator"):
        hf_transform(v2.RandomHorizontalFlip(), generator=_gen())


def test_container_params_replay_on_the_path_they_were_drawn_on():
    x = _img(b=8, h=16, w=16)
    for t in (RandomApply([RandomCrop(16, padding=2)], p=0.5), RandomChoice([RandomCrop(16, padding=2), RandomAffine(20)])):
        with accelerator_path():
            out, p = t(x, generator=_gen(), return_params=True)
        assert p["gathered"] is False
        assert torch.equal(t(x, params=p), out)
        out2, p2 = t(x, generator=_gen(), return_params=True)
        assert p2["gathered"] is True
        with accelerator_path():
            assert torch.equal(t(x, params=p2), out2)


def test_random_order_follows_a_generator_without_reading_the_device():
    t = RandomOrder([RandomHorizontalFlip(p=1.0), RandomCrop(12), RandomVerticalFlip(p=1.0)])
    x = _img(b=2, h=16, w=16)
    orders = [tuple(t(x, generator=_gen(s), return_params=True)[1]["order"].tolist()) for s in range(12)]
    assert len(set(orders)) > 1 and orders[0] == tuple(t(x, generator=_gen(0), return_params=True)[1]["order"].tolist())
    g = _gen(5)
    a = [tuple(t(x, generator=g, return_params=True)[1]["order"].tolist()) for _ in range(8)]
    assert len(set(a)) > 1  # the generator advances: calls differ


def test_pixel_only_modules_in_a_pipeline_keep_the_targets():
    from torchaug.transforms import Normalize

    img = tv.Image(_img())
    box = tv.BoundingBoxes([[0, 0, 10, 10]], format="XYXY", canvas_size=(32, 32))
    out, b = Compose([RandomHorizontalFlip(p=1.0), Normalize(mean=(0.5,) * 3, std=(0.25,) * 3)])(img, box)
    assert torch.allclose(out, (img.flip(-1).float() / 255 - 0.5) / 0.25, atol=1e-5) and b.tolist() == [[22, 0, 32, 10]]


def test_clips_and_images_together_and_torchvision_children_on_clips():
    f = _img(h=16, w=16)
    clip = tv.Video(f.expand(4, 3, 16, 16).clone())
    out = Compose([v2.RandomHorizontalFlip(p=1.0), RandomApply([RandomCrop(16, padding=3)])])(clip, generator=_gen(1))
    assert type(out) is tv.Video and all(torch.equal(out[0], out[k]) for k in range(4))
    a, b = RandomCrop(12)(tv.Image(f), clip, generator=_gen(2))  # an image and a clip: the same crop
    assert type(b) is tv.Video and b.shape == (4, 3, 12, 12) and all(torch.equal(a, b[k]) for k in range(4))
