"""CIFAR-10 (Krizhevsky 2009) in torchvision's python format, downloaded into a cache folder when online.

``root`` (default ``~/.cache/torchaug/cifar10``) holds ``cifar-10-batches-py/`` (``data_batch_1`` ..
``data_batch_5``, ``test_batch``, ``batches.meta``), the layout ``torchvision.datasets.CIFAR10`` reads
and writes. With ``download=True`` (the config default) and the files missing, the archive is fetched
with torchvision's downloader (its URL and MD5) and extracted there. Offline (the download host does
not answer within a few seconds, or ``TORCHAUG_OFFLINE=1``) and missing, :class:`DataNotFoundError`
says in one line where it looked and the two ways out: ``data.root=<folder>`` with torchvision's
files, or ``data=imagefolder data.root=<tree>`` for a ``train/ test/ <class>/`` image tree such as the
JPEG copy.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import socket
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import torch

from torchaug.data.base import ClassificationDataModule
from torchaug.errors import DataNotFoundError

log = logging.getLogger(__name__)

BASE_FOLDER = "cifar-10-batches-py"
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILES = ("test_batch",)
META_FILE = "batches.meta"
DEFAULT_ROOT = "~/.cache/torchaug/cifar10"
PROBE_TIMEOUT_S = 3.0


def _source() -> tuple[str, str, str]:
    """``(url, archive file name, md5)`` as torchvision's CIFAR10 defines them."""
    from torchvision.datasets import CIFAR10

    return CIFAR10.url, CIFAR10.filename, CIFAR10.tgz_md5


def download_archive(url: str, root: str, filename: str, md5: str) -> None:
    """Fetch and extract the archive into ``root`` (torchvision's downloader; tests replace this)."""
    from torchvision.datasets.utils import download_and_extract_archive

    download_and_extract_archive(url, download_root=root, filename=filename, md5=md5)


def online(url: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether ``url``'s host accepts a TCP connection within ``timeout`` seconds (name lookup included).

    ``TORCHAUG_OFFLINE=1`` answers False without trying.
    """
    if os.environ.get("TORCHAUG_OFFLINE", "") not in ("", "0"):
        return False
    parts = urlparse(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    ok: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((parts.hostname, port), timeout=timeout):
                ok.append(True)
        except OSError:
            pass

    t = threading.Thread(target=probe, daemon=True)  # a stuck name lookup cannot hold the run
    t.start()
    t.join(timeout + 0.5)
    return bool(ok)


#: how long a process waits for another one's download (seconds), and how often it looks
LOCK_WAIT_S, LOCK_POLL_S = 3600.0, 1.0


@contextlib.contextmanager
def _download_lock(root: Path):
    """Yield True to the one process that holds ``root/.download.lock`` (created atomically), after
    waiting for another holder to finish; the lock file is removed when the holder is done."""
    lock = root / ".download.lock"
    start = time.monotonic()
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            if _stale(lock):  # left by a download that was killed (its process is gone)
                lock.unlink(missing_ok=True)
                continue
            if time.monotonic() - start > LOCK_WAIT_S:
                raise DataNotFoundError("data.root", f"waited {LOCK_WAIT_S:.0f} s for another process's CIFAR-10 "
                                        f"download into {root} ({lock} exists).",
                                        f"remove {lock} if no download is running") from None
            time.sleep(LOCK_POLL_S)
            if not lock.exists():
                yield False  # the other process finished: the caller checks the files
                return
            continue
        try:
            os.write(fd, str(os.getpid()).encode())
            os.close(fd)
            yield True
        finally:
            lock.unlink(missing_ok=True)
        return


def _stale(lock: Path) -> bool:
    try:
        pid = int(lock.read_text().strip() or "0")
    except (OSError, ValueError):
        return False
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False


def _missing(folder: Path) -> list[str]:
    return [n for n in (*TRAIN_FILES, *TEST_FILES, META_FILE) if not (folder / n).is_file()]


def _read_batch(path: Path) -> tuple[np.ndarray, list[int]]:
    with open(path, "rb") as f:
        entry = pickle.load(f, encoding="latin1")
    labels = entry.get("labels", entry.get("fine_labels"))
    return np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32), list(labels)


class CIFAR10DataModule(ClassificationDataModule):
    """CIFAR-10 as uint8 ``(3, 32, 32)`` tensors: 50,000 training images (``val_fraction`` held out),
    10,000 test images, 10 classes.

    Args:
        root: folder holding (or receiving) ``cifar-10-batches-py/``.
        download: fetch the archive when the files are missing (needs the network).
        **kwargs: :class:`~torchaug.data.ClassificationDataModule` arguments.
    """

    def __init__(self, *, root: str = DEFAULT_ROOT, download: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(download, bool):
            raise TypeError(f"CIFAR10DataModule: download must be a bool; got {download!r}")
        self.root, self.download = os.path.expanduser(str(root)), download

    def _ways_out(self) -> str:
        return ("pass data.root=<folder> holding torchvision's cifar-10-batches-py/, or use an image tree with "
                "data=imagefolder data.root=<tree> (train/ and test/ with one folder per class, e.g. the CIFAR-10 "
                "JPEG copy)")

    def ensure_files(self) -> Path:
        """Make sure the files are under :attr:`root` (downloading them if allowed); return their folder."""
        folder = Path(self.root) / BASE_FOLDER
        missing = _missing(folder)
        if not missing:
            return folder
        what = "no CIFAR-10 files" if len(missing) == 7 else f"missing {', '.join(missing)}"
        looked = f"CIFAR-10 not found: looked in {folder} ({what})"
        if not self.download:
            raise DataNotFoundError("data.root", f"{looked}; data.download is false.",
                                    f"data.download=true when online, or {self._ways_out()}")
        url, filename, md5 = _source()
        if not online(url):
            raise DataNotFoundError("data.root", f"{looked} and it cannot be downloaded: "
                                    f"{urlparse(url).hostname} is unreachable (offline).", self._ways_out())
        os.makedirs(self.root, exist_ok=True)
        with _download_lock(Path(self.root)) as mine:
            if mine and _missing(folder):  # several processes (DDP ranks): one downloads, the others wait
                log.info("CIFAR10DataModule: downloading %s into %s", url, self.root)
                try:
                    download_archive(url, self.root, filename, md5)
                except Exception as err:  # noqa: BLE001 - a failed download is the same dead end as offline
                    raise DataNotFoundError("data.root", f"{looked}; the download from {url} failed ({err}).",
                                            self._ways_out()) from err
        still = _missing(folder)
        if still:
            raise DataNotFoundError("data.root", f"the download into {self.root} did not produce {', '.join(still)}.",
                                    self._ways_out())
        return folder

    def load(self) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        folder = self.ensure_files()
        out = {}
        for split, names in (("train", TRAIN_FILES), ("test", TEST_FILES)):
            parts = [_read_batch(folder / n) for n in names]
            x = np.concatenate([p[0] for p in parts])
            y = [label for p in parts for label in p[1]]
            out[split] = (torch.from_numpy(x).contiguous(), torch.tensor(y, dtype=torch.int64))
        with open(folder / META_FILE, "rb") as f:
            self.classes = [str(c) for c in pickle.load(f, encoding="latin1")["label_names"]]
        return out


__all__ = ["CIFAR10DataModule", "download_archive", "online"]
