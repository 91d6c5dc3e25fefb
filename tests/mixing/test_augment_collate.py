"""AugmentCollate: samples of any size -> augmented batch, in the workers or the main process."""

from __future__ import annotations

import io
import pickle

import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from torchaug.mixing import AugmentCollate, MixUp
from torchaug.transforms import Compose, RandomHorizontalFlip, RandomResizedCrop

SIZES = [(20, 30), (31, 17), (24, 24), (40, 22), (18, 35), (27, 27)]


class Ragged(Dataset):
    def __init__(self, encoded=False):
        g = torch.Generator().manual_seed(0)
        self.imgs = [torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8) for h, w in SIZES * 2]
        self.encoded = encoded

    def __len__(self):
        return len(self.imgs)

    def __getitem__(self, i):
        img = self.imgs[i]
        if self.encoded:
            buf = io.BytesIO()
            Image.fromarray(img.permute(1, 2, 0).numpy()).save(buf, format="PNG")  # lossless: decodes back exactly
            img = torch.frombuffer(bytearray(buf.getvalue()), dtype=torch.uint8)
        return img, i % 3


def pipe():
    return Compose([RandomResizedCrop(12), RandomHorizontalFlip()])


def test_main_process_equals_the_transforms_on_the_list():
    ds = Ragged()
    batch = [ds[i] for i in range(6)]
    torch.manual_seed(0)
    x, y = AugmentCollate(pipe())(batch)
    torch.manual_seed(0)
    ref = pipe()([b[0] for b in batch])
    assert torch.equal(x, ref) and y.tolist() == [0, 1, 2, 0, 1, 2]


def test_encoded_samples_are_decoded_in_the_collate():
    a, b = Ragged(), Ragged(encoded=True)
    torch.manual_seed(1)
    xa, _ = AugmentCollate(pipe())([a[i] for i in range(6)])
    torch.manual_seed(1)
    xb, _ = AugmentCollate(pipe())([b[i] for i in range(6)])
    assert torch.equal(xa, xb)
    # without transforms the bytes travel on (for decoding on the device)
    x, _ = AugmentCollate()([b[i] for i in range(3)])
    assert isinstance(x, list) and all(t.ndim == 1 for t in x)


def test_workers_draw_distinct_reproducible_streams():
    def run(seed):
        dl = DataLoader(Ragged(), batch_size=3, num_workers=2, collate_fn=AugmentCollate(pipe(), MixUp(num_classes=3)),
                        generator=torch.Generator().manual_seed(seed))
        return list(dl)

    a, b, c = run(0), run(0), run(1)
    assert all(x.shape == (3, 3, 12, 12) and y.shape == (3, 3) for x, y in a)
    assert all(torch.equal(p[0], q[0]) and torch.equal(p[1], q[1]) for p, q in zip(a, b))
    assert not all(torch.equal(p[0], q[0]) for p, q in zip(a, c))
    # the two workers took batches 0, 2 and 1, 3 of the same images: their crops differ
    assert not torch.equal(a[0][0], a[1][0])


def test_pickles_and_names_bad_input():
    c = pickle.loads(pickle.dumps(AugmentCollate(pipe(), MixUp(num_classes=3))))
    assert isinstance(c.transforms, Compose)
    with pytest.raises(TypeError, match="AugmentCollate: transforms"):
        AugmentCollate(3)
    with pytest.raises(TypeError, match="AugmentCollate: mixer"):
        AugmentCollate(None, "mixup")
    ds = Ragged()
    with pytest.raises(ValueError, match="mixer needs images of one size"):
        AugmentCollate(None, MixUp(num_classes=3))([ds[i] for i in range(3)])
    with pytest.raises(TypeError, match="RandomResizedCrop"):
        AugmentCollate(RandomHorizontalFlip())([ds[i] for i in range(3)])
