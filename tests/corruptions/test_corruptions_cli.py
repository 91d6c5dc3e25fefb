"""The write / evaluate commands on a tiny generated image-folder tree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torchvision.io import decode_image, encode_png

from torchaug.corruptions import corrupt
from torchaug.corruptions.cli import main


def _tree(root: Path, n: int = 3) -> None:
    g = torch.Generator().manual_seed(0)
    for split in ("train", "test"):
        for k, cls in enumerate(("cat", "dog")):
            d = root / split / cls
            d.mkdir(parents=True)
            for i in range(n):
                im = (torch.rand(3, 32, 32, generator=g) * 120 + 100 * k).to(torch.uint8)
                (d / f"{i:03d}.png").write_bytes(encode_png(im).numpy().tobytes())


def _run(root: Path, seed: int) -> Path:
    """A run folder as torchaug.train leaves it: config.yaml and checkpoints/last.ckpt (a ClassifierModule state)."""
    from torchaug.models import SmallCNN

    torch.manual_seed(seed)
    model = SmallCNN(in_channels=3, num_classes=2, width=8)
    (root / "checkpoints").mkdir(parents=True)
    (root / "config.yaml").write_text("model:\n  _target_: torchaug.models.SmallCNN\n  _partial_: true\n  width: 8\n")
    state = {f"model.{k}": v for k, v in model.state_dict().items()}
    state["mean"] = torch.tensor([0.5, 0.5, 0.5]).view(1, 3, 1, 1)
    state["std"] = torch.tensor([0.25, 0.25, 0.25]).view(1, 3, 1, 1)
    torch.save({"state_dict": state}, root / "checkpoints" / "last.ckpt")
    return root / "checkpoints" / "last.ckpt"


def test_write_then_evaluate_with_baseline(tmp_path, capsys):
    src, dst = tmp_path / "src", tmp_path / "c"
    _tree(src)
    assert main(["write", str(src), str(dst), "--severities", "1-2", "--names", "gaussian_noise,contrast", "--batch", "4"]) == 0
    files = sorted(dst.rglob("*.png"))
    assert len(files) == 2 * 2 * 2 * 3  # corruptions x severities x classes x images
    manifest = json.loads((dst / "manifest.json").read_text())
    assert manifest["constants"] == "cifar" and manifest["severities"] == [1, 2]
    # the deterministic corruption is exactly what corrupt() gives
    clean = decode_image(str(src / "test" / "dog" / "001.png"))
    assert torch.equal(decode_image(str(dst / "contrast" / "2" / "dog" / "001.png")), corrupt(clean, "contrast", 2))
    # same seed, same tree
    again = tmp_path / "c2"
    main(["write", str(src), str(again), "--severities", "1-2", "--names", "gaussian_noise,contrast", "--batch", "4"])
    assert all(f.read_bytes() == (again / f.relative_to(dst)).read_bytes() for f in files)

    ckpt, base = _run(tmp_path / "run_a", 0), _run(tmp_path / "run_b", 1)
    out = tmp_path / "eval" / "res"
    assert main(["evaluate", str(ckpt), str(dst), "--baseline", str(base), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| gaussian_noise |" in printed and "mCE" in printed
    res = json.loads(Path(str(out) + ".json").read_text())
    assert Path(str(out) + ".png").stat().st_size > 1000
    assert set(res["error"]) == {"gaussian_noise", "contrast"}
    for c in res["error"]:
        assert set(res["error"][c]) == {"1", "2"} and all(0 <= v <= 1 for v in res["error"][c].values())
        ce = sum(res["error"][c].values()) / max(sum(res["baseline_error"][c].values()), 1e-12)
        assert res["CE"][c] == pytest.approx(ce)
    assert res["mCE"] == pytest.approx(sum(res["CE"].values()) / 2)


def test_bad_arguments(tmp_path):
    with pytest.raises(SystemExit):
        main(["write", str(tmp_path), str(tmp_path / "o"), "--severities", "0-7"])
    with pytest.raises(SystemExit):
        main(["write", str(tmp_path), str(tmp_path / "o"), "--names", "nosuch"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit, match="no class folders"):
        main(["write", str(tmp_path / "empty"), str(tmp_path / "o")])
    ckpt = tmp_path / "x.ckpt"
    torch.save({"state_dict": {}}, ckpt)
    (tmp_path / "t" / "contrast" / "1" / "a").mkdir(parents=True)
    encode = encode_png(torch.zeros(3, 8, 8, dtype=torch.uint8)).numpy().tobytes()
    (tmp_path / "t" / "contrast" / "1" / "a" / "0.png").write_bytes(encode)
    with pytest.raises(FileNotFoundError, match="config.yaml"):
        main(["evaluate", str(ckpt), str(tmp_path / "t")])
