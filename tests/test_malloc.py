"""``torchaug.keep_freed_memory``: glibc keeps freed batch-sized memory, so it is not faulted in again."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import torchaug
from torchaug._cpu import malloc

_MAPPINGS = textwrap.dedent("""
    import sys, torch, torchaug
    applied = torchaug.keep_freed_memory() if sys.argv[1] == "on" else None
    def big_anonymous_mappings():
        out = set()
        for line in open("/proc/self/maps"):
            parts = line.split()
            lo, hi = (int(v, 16) for v in parts[0].split("-"))
            if len(parts) < 6 and hi - lo >= (20 << 20):
                out.add((lo, hi))
        return out
    before = big_anonymous_mappings()
    t = torch.empty(20 << 20, dtype=torch.uint8)
    print(applied, len(big_anonymous_mappings() - before))
""")


def _new_mappings(mode: str) -> tuple[str, int]:
    out = subprocess.run([sys.executable, "-c", _MAPPINGS, mode], capture_output=True, text=True, check=True, timeout=120)
    applied, n = out.stdout.split()
    return applied, int(n)


@pytest.mark.skipif(malloc._glibc() is None or not sys.platform.startswith("linux"), reason="glibc on Linux only")
def test_a_batch_sized_tensor_comes_from_the_heap():
    """By default glibc maps a fresh 20 MiB tensor on its own (handed back, and faulted in anew,
    once freed); after keep_freed_memory it comes from the heap, which keeps freed memory."""
    assert _new_mappings("off") == ("None", 1)
    assert _new_mappings("on") == ("True", 0)


def test_bad_thresholds_are_rejected():
    with pytest.raises(ValueError, match=r"keep_freed_memory: mmap_threshold must be in \[0, 33554432\] bytes"):
        torchaug.keep_freed_memory(mmap_threshold=64 << 20)
    with pytest.raises(TypeError, match="keep_freed_memory: trim_threshold must be an int"):
        torchaug.keep_freed_memory(trim_threshold=1.5)
    with pytest.raises(ValueError, match="keep_freed_memory: trim_threshold must be in"):
        torchaug.keep_freed_memory(trim_threshold=-1)


def test_other_c_libraries_change_nothing(monkeypatch):
    monkeypatch.setattr(malloc, "_glibc", lambda: None)
    assert torchaug.keep_freed_memory() is False
