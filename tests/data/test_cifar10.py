"""CIFAR10DataModule: files in torchvision's format under a cache folder, a download when online
(torchvision's downloader replaced by a fake writing a tiny set), one clear line when offline."""

from __future__ import annotations

import os

import pytest
import torch

import torchaug.data.cifar10 as cifar
from torchaug.data import CIFAR10DataModule
from torchaug.errors import ConfigError, DataNotFoundError
from train_support import write_cifar10_batches


def test_reads_torchvision_format(tmp_path):
    write_cifar10_batches(tmp_path, per_batch=20, test=30)
    dm = CIFAR10DataModule(root=str(tmp_path), download=False, batch_size=8, val_fraction=0.2)
    dm.setup()
    assert dm.num_classes == 10 and dm.classes[3] == "cat"
    assert len(dm._splits["train"]) == 80 and len(dm._splits["val"]) == 20 and len(dm._splits["test"]) == 30
    x = dm._splits["train"].x
    assert x.dtype == torch.uint8 and tuple(x.shape[1:]) == (3, 32, 32)


def test_offline_and_missing_is_one_line_with_the_two_ways_out(tmp_path, monkeypatch):
    monkeypatch.setattr(cifar, "download_archive", lambda *a: pytest.fail("must not try to download offline"))
    monkeypatch.setenv("TORCHAUG_OFFLINE", "1")
    with pytest.raises(DataNotFoundError) as info:
        CIFAR10DataModule(root=str(tmp_path / "cache"), download=True).setup()
    err = info.value
    assert isinstance(err, ConfigError) and isinstance(err, FileNotFoundError) and err.key == "data.root"
    line = err.line()
    assert "\n" not in line
    assert str(tmp_path / "cache" / "cifar-10-batches-py") in line  # where it looked
    assert "data.root=<folder>" in line and "data=imagefolder data.root=<tree>" in line  # the two ways out
    assert "unreachable" in line


def test_download_when_online_writes_into_the_cache_folder(tmp_path, monkeypatch):
    calls = []

    def fake_download(url, root, filename, md5):
        calls.append((url, root, filename, md5))
        write_cifar10_batches(root, per_batch=20, test=10)

    monkeypatch.delenv("TORCHAUG_OFFLINE", raising=False)
    monkeypatch.setattr(cifar, "online", lambda url, timeout=3.0: True)
    monkeypatch.setattr(cifar, "download_archive", fake_download)
    root = tmp_path / "cache"
    dm = CIFAR10DataModule(root=str(root), download=True, val_fraction=0.2)
    dm.setup()
    from torchvision.datasets import CIFAR10

    assert calls == [(CIFAR10.url, str(root), CIFAR10.filename, CIFAR10.tgz_md5)]
    assert (root / "cifar-10-batches-py" / "data_batch_5").is_file() and len(dm._splits["test"]) == 10
    CIFAR10DataModule(root=str(root), download=True).setup()  # present now: no second download
    assert len(calls) == 1


def test_failed_download_and_download_off(tmp_path, monkeypatch):
    def broken(*a):
        raise OSError("connection reset")

    monkeypatch.setattr(cifar, "online", lambda url, timeout=3.0: True)
    monkeypatch.setattr(cifar, "download_archive", broken)
    with pytest.raises(DataNotFoundError, match="connection reset"):
        CIFAR10DataModule(root=str(tmp_path), download=True).setup()
    with pytest.raises(DataNotFoundError, match="data.download=true"):
        CIFAR10DataModule(root=str(tmp_path), download=False).setup()


def test_online_probe_honours_offline_switch(monkeypatch):
    monkeypatch.setenv("TORCHAUG_OFFLINE", "1")
    assert cifar.online("https://www.cs.toronto.edu/x.tar.gz") is False


def test_a_second_process_waits_for_the_first_download(tmp_path, monkeypatch):
    import threading

    root = tmp_path / "cache"
    root.mkdir()
    lock = root / ".download.lock"
    lock.write_text(str(os.getpid()))  # another rank (alive) is downloading
    monkeypatch.setattr(cifar, "online", lambda url, timeout=3.0: True)
    monkeypatch.setattr(cifar, "download_archive", lambda *a: pytest.fail("only the lock holder downloads"))
    monkeypatch.setattr(cifar, "LOCK_POLL_S", 0.05)

    def other_rank_finishes():
        write_cifar10_batches(root, per_batch=20, test=10)
        lock.unlink()

    timer = threading.Timer(0.3, other_rank_finishes)
    timer.start()
    dm = CIFAR10DataModule(root=str(root), download=True, val_fraction=0.2)
    dm.setup()
    timer.join()
    assert len(dm._splits["test"]) == 10 and not lock.exists()


def test_a_stale_lock_is_taken_over(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    root.mkdir()
    (root / ".download.lock").write_text("999999999")  # no such process
    monkeypatch.setattr(cifar, "online", lambda url, timeout=3.0: True)
    monkeypatch.setattr(cifar, "download_archive", lambda url, r, f, m: write_cifar10_batches(r, per_batch=20, test=10))
    CIFAR10DataModule(root=str(root), download=True, val_fraction=0.2).setup()
    assert not (root / ".download.lock").exists()
