"""The `torchaug` command: sub-commands, plug-ins, --help listing recipes and config groups."""

from __future__ import annotations

import sys

import pytest

from torchaug import cli


@pytest.fixture(autouse=True)
def _keep_main_and_argv(monkeypatch):
    """cli.main sets sys.argv and __main__.__spec__ (for relaunching launchers); undo both after each test."""
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    monkeypatch.setattr(sys.modules["__main__"], "__spec__", getattr(sys.modules["__main__"], "__spec__", None))


def test_relaunch_sees_the_subcommand_module(monkeypatch):
    monkeypatch.setitem(cli.COMMANDS, "echo", ("train_support:echo_command", "test"))
    cli.main(["echo", "x=1"])
    assert sys.modules["__main__"].__spec__.name == "train_support" and sys.argv[1:] == ["x=1"]


def test_help_lists_commands_recipes_and_groups(capsys):
    assert cli.main(["--help"]) == 0
    text = capsys.readouterr().out
    for word in ("train", "preview", "mixup_cifar", "erm_digits", "logger", "tensorboard", "transforms", "randaugment"):
        assert word in text


def test_builtin_and_plugged_in_commands(monkeypatch):
    assert cli.resolve("train") == "torchaug.train:main" and cli.resolve("preview") == "torchaug.preview:main"
    monkeypatch.setitem(cli.COMMANDS, "echo", ("train_support:echo_command", "test"))
    assert cli.main(["echo", "a=1", "b"]) == ["torchaug echo", "a=1", "b"]
    cli.add_command("echo2", "train_support:echo_command", "x")
    try:
        assert cli.main(["echo2"]) == ["torchaug echo2"]
    finally:
        cli.COMMANDS.pop("echo2")
    with pytest.raises(ValueError, match="module:function"):
        cli.add_command("bad", "no_colon")


def test_a_torchaug_module_with_main_is_a_command():
    assert cli._module_command("preview") == "torchaug.preview:main"
    assert cli._module_command("seeding") is None  # no main()
    assert cli._module_command("does_not_exist") is None


def test_unknown_command_suggests(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["trian"])
    assert info.value.code == 2 and "did you mean 'train'" in capsys.readouterr().err.lower()


def test_train_subcommand_reports_config_mistakes_in_one_line(capsys, monkeypatch):
    with pytest.raises(SystemExit) as info:
        cli.main(["train", "mixer=nope"])
    err = capsys.readouterr().err.strip().splitlines()
    assert info.value.code == 2 and len(err) == 1 and err[0].startswith("torchaug train: mixer:")


def test_gallery_command_runs_the_preview_gallery(monkeypatch):
    import torchaug.preview as preview

    seen = []
    monkeypatch.setattr(preview, "main", lambda argv=None: seen.append(argv) or "ok")
    assert cli.main(["gallery", "--only", "Blur"]) == "ok" and cli.main(["gallery", "out"]) == "ok"
    assert seen == [["--gallery", "docs", "--only", "Blur"], ["--gallery", "out"]]
