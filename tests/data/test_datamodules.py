from __future__ import annotations

import numpy as np
import pytest
import torch

from tests_support import make_image_tree
from torchaug.data import DigitsDataModule, ImageFolderDataModule, TabularDataModule


def test_digits_split_is_stratified_uint8():
    dm = DigitsDataModule(batch_size=32, seed=0)
    dm.setup()
    x, y = next(iter(dm.train_dataloader()))
    assert x.dtype == torch.uint8 and x.shape[1:] == (1, 8, 8) and y.dtype == torch.int64
    assert dm.num_classes == 10
    sizes = {s: len(dm._splits[s]) for s in ("train", "val", "test")}
    assert sum(sizes.values()) == 1797
    counts = np.array(dm.class_counts("test"))
    assert counts.min() >= 34 and counts.max() <= 38  # stratified: ~36 per class
    assert int(dm._splits["train"].x.max()) == 255


def test_class_fractions_and_subset():
    dm = DigitsDataModule(seed=0, class_fractions={3: 0.1, 5: 0.1})
    dm.setup()
    counts = dm.class_counts()
    assert counts[3] < 0.15 * counts[0] and counts[5] < 0.15 * counts[0]
    dm2 = DigitsDataModule(seed=0, subset=200)
    dm2.setup()
    assert len(dm2._splits["train"]) == 200 and min(dm2.class_counts()) >= 18


def test_image_folder(tmp_path):
    root = make_image_tree(tmp_path, classes=3, per_class=6, size=12)
    dm = ImageFolderDataModule(root=str(root), batch_size=4, val_fraction=0.2)
    dm.setup()
    assert dm.classes == ["class0", "class1", "class2"]
    assert dm.sample_shape == (3, 12, 12)
    mean, std = dm.channel_stats()
    assert len(mean) == 3 and all(0 < m < 1 for m in mean)
    dm = ImageFolderDataModule(root=str(root), image_size=8, files_per_class=4, val_fraction=0.25)
    dm.setup()
    assert dm.sample_shape == (3, 8, 8) and len(dm._splits["train"]) + len(dm._splits["val"]) == 12


def test_image_folder_missing_root_is_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="train"):
        ImageFolderDataModule(root=str(tmp_path / "nope")).setup()
    with pytest.raises(ValueError, match="root"):
        ImageFolderDataModule()


def test_cifar10_offline_error_says_how_to_supply(tmp_path):
    from torchaug.data import CIFAR10DataModule

    with pytest.raises(FileNotFoundError, match="imagefolder"):
        CIFAR10DataModule(root=str(tmp_path)).setup()


def test_tabular_sources(tmp_path):
    dm = TabularDataModule(dataset="wine", seed=0)
    dm.setup()
    x, y = dm._splits["train"].x, dm._splits["train"].y
    assert x.dtype == torch.float32 and dm.num_classes == 3
    assert abs(float(x.mean())) < 0.2  # standardised with training statistics
    csv = tmp_path / "t.csv"
    csv.write_text("a,b,label\n" + "\n".join(f"{i},{i % 3},{'yes' if i % 2 else 'no'}" for i in range(40)))
    dm = TabularDataModule(dataset=None, csv=str(csv), target="label")
    dm.setup()
    assert dm.classes == ["no", "yes"] and dm.sample_shape == (2,)
    with pytest.raises(ValueError, match="dataset must be one of"):
        TabularDataModule(dataset="nope").setup()


def test_loader_generator_state_round_trip():
    dm = DigitsDataModule(seed=0, batch_size=16)
    dm.setup()
    first = [y for _, y in dm.train_dataloader()]
    state = dm.state_dict()
    second = torch.cat([y for _, y in dm.train_dataloader()])
    dm2 = DigitsDataModule(seed=0, batch_size=16)
    dm2.setup()
    dm2.load_state_dict(state)
    assert torch.equal(torch.cat([y for _, y in dm2.train_dataloader()]), second)
    assert not torch.equal(torch.cat(first), second)  # a new epoch reshuffles


def test_resampler_then_selector_keeps_originals_first():
    from torchaug.resampling import SMOTE
    from torchaug.selection import DistanceFilter

    plain = DigitsDataModule(seed=0, class_fractions={3: 0.1})
    plain.setup()
    dm = DigitsDataModule(seed=0, class_fractions={3: 0.1}, resampler=SMOTE(random_state=0),
                          selector=DistanceFilter(quantile=0.5, random_state=0))
    dm.setup()
    n0 = len(plain._splits["train"])
    stats = dm.resample_stats
    assert 0 < stats["synthetic_kept"] < stats["synthetic_samples"]  # a strict filter drops some
    assert len(dm._splits["train"]) == n0 + stats["synthetic_kept"]
    assert torch.equal(dm._splits["train"].x[:n0], plain._splits["train"].x)


def test_class_subset_digits_reindexes_every_split():
    full = DigitsDataModule(seed=0)
    full.setup()
    dm = DigitsDataModule(seed=0, class_subset=[0, 8])
    dm.setup()
    assert dm.classes == ["0", "8"] and dm.num_classes == 2
    for split in ("train", "val", "test"):
        y = dm._splits[split].y
        assert set(y.tolist()) == {0, 1}
    # the kept test images are exactly the full split's 0s and 8s, in order, 8 relabelled to 1
    yt = full._splits["test"].y
    rows = (yt == 0) | (yt == 8)
    assert torch.equal(dm._splits["test"].x, full._splits["test"].x[rows])
    assert torch.equal(dm._splits["test"].y, (yt[rows] == 8).long())
    # order given = new indices; names work too
    dm = DigitsDataModule(seed=0, class_subset=["8", "0"])
    dm.setup()
    assert dm.classes == ["8", "0"]
    assert torch.equal(dm._splits["test"].y, (yt[rows] == 0).long())


def test_class_subset_image_folder_decodes_only_those(tmp_path):
    root = make_image_tree(tmp_path, classes=3, per_class=6, size=8)
    dm = ImageFolderDataModule(root=str(root), class_subset=["class2", "class0"], val_fraction=0.2)
    dm.setup()
    assert dm.classes == ["class2", "class0"] and dm.num_classes == 2
    x, y = dm._splits["test"].x, dm._splits["test"].y
    assert len(y) == 6 and set(y.tolist()) == {0, 1}
    # the red channel is boosted for class0 (now label 1), the blue one for class2 (now label 0)
    assert bool((x[y == 1, 0].float().mean((1, 2)) > 120).all()) and bool((x[y == 0, 2].float().mean((1, 2)) > 120).all())


def test_class_subset_errors_name_the_argument(tmp_path):
    with pytest.raises(ValueError, match=r"class_subset must hold class names from \['0'.*got \[0, 11\]"):
        DigitsDataModule(class_subset=[0, 11]).setup()
    with pytest.raises(ValueError, match="class_subset must name each class once"):
        DigitsDataModule(class_subset=[3, "3"]).setup()
    with pytest.raises(ValueError, match="class_subset must be a non-empty list"):
        DigitsDataModule(class_subset=[])
    root = make_image_tree(tmp_path, classes=2, per_class=4, size=8)
    with pytest.raises(ValueError, match="'dog' is unknown"):
        ImageFolderDataModule(root=str(root), class_subset=["class0", "dog"]).setup()
