"""The deit_imagefolder recipe composes with DeiT's Table 9 values (its one-step run on a generated
image tree in tmp_path is tests/test_train.py::test_recipe_composes_and_runs_one_step[deit_imagefolder])."""

import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from torchaug._paths import config_dir
from torchaug.mixing import MixUpCutMix
from torchaug.transforms import RandAugment, RandomErasing, RandomResizedCrop


def test_deit_values():
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose(config_name="train", overrides=["+recipe=deit_imagefolder", "data.root=/nowhere"])
    assert cfg.data._target_.endswith("ImageFolderStreamDataModule")
    mixer = instantiate(cfg.mixer)(num_classes=10)
    assert isinstance(mixer, MixUpCutMix)
    assert (mixer.mixup_alpha, mixer.cutmix_alpha, mixer.switch_prob, mixer.label_smoothing) == (0.8, 1.0, 0.5, 0.1)
    assert cfg.optimizer.weight_decay == 0.05 and abs(cfg.optimizer.lr - 5e-4 * cfg.data.batch_size / 512) < 1e-12
    assert cfg.scheduler._target_.endswith("CosineAnnealingLR") and cfg.trainer.max_epochs == 300
    t = instantiate(cfg.transforms)
    kinds = [type(c) for c in t.transforms]
    assert kinds[0] is RandomResizedCrop and RandAugment in kinds and kinds[-1] is RandomErasing
    ra = t.transforms[kinds.index(RandAugment)]
    assert ra.num_ops == 2 and ra.magnitude / (ra.num_magnitude_bins - 1) == 0.9  # timm m9 of 10
    assert t.transforms[-1].p == 0.25
    imgs = [torch.randint(0, 256, (3, 240 + 9 * i, 260), dtype=torch.uint8) for i in range(2)]
    assert t(imgs, generator=torch.Generator().manual_seed(0)).shape == (2, 3, 224, 224)
