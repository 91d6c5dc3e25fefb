import os

import pytest
import torch

from torchaug._devpath import accelerator_path

# Under pytest-xdist each worker gets one thread: more threads than cores makes torch's thread pool spin.
torch.set_num_threads(1 if os.environ.get("PYTEST_XDIST_WORKER") else max(1, min(2, os.cpu_count() or 1)))


#: the devices of the ``device`` fixture: the CPU, the CPU taking the accelerator code path
#: (``torchaug.accelerator_path``), and CUDA when present; ``TORCHAUG_TEST_DEVICES=cuda`` (a
#: comma-separated list) narrows it, as the GPU script does
DEVICES = ["cpu", "cpu:accel"] + (["cuda"] if torch.cuda.is_available() else [])
if os.environ.get("TORCHAUG_TEST_DEVICES"):
    DEVICES = [d for d in os.environ["TORCHAUG_TEST_DEVICES"].split(",") if d in DEVICES]


@pytest.fixture(params=DEVICES)
def device(request) -> torch.device:
    """Every available device; ``cpu:accel`` runs CPU tensors through the code path of GPUs."""
    if request.param == "cpu:accel":
        with accelerator_path():
            yield torch.device("cpu")
    else:
        yield torch.device(request.param)


@pytest.fixture
def gen() -> torch.Generator:
    return torch.Generator().manual_seed(0)


def pytest_collection_modifyitems(config, items):
    """In CI, a peer-library comparison that skips is a failure (the bench extra is installed)."""
    if os.environ.get("CI") != "true":
        return
    for item in items:
        if item.get_closest_marker("peer") is not None:
            item.add_marker(pytest.mark.peer_must_run)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    # an expected failure (xfail: the peer's own sampler fails the check too) is no skipped peer
    if report.skipped and not hasattr(report, "wasxfail") and item.get_closest_marker("peer_must_run") is not None:
        report.outcome = "failed"
        report.longrepr = f"peer test skipped in CI (the bench extra must be installed): {report.longrepr}"


@pytest.fixture
def force_thresholds():
    """``force_thresholds(name=value, ...)`` overrides ``torchaug._cpu.thresholds.THRESHOLDS`` fields
    until the test ends (a fast path forced on or off)."""
    import contextlib

    from torchaug._cpu.thresholds import override_thresholds

    with contextlib.ExitStack() as stack:
        yield lambda **fields: stack.enter_context(override_thresholds(**fields))
