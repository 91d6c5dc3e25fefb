"""``torchaug``: one command for the package's tools.

    torchaug train [+recipe=NAME] [key=value ...]     (= python -m torchaug.train)
    torchaug preview transforms=NAME [...]            (= python -m torchaug.preview)
    torchaug NAME ...                                 any command another part of torchaug (or a plug-in) adds
    torchaug --help                                   commands, recipes and config groups

Commands come from three places, first match wins:

1. :data:`COMMANDS` (``name -> ("module:function", one-line help)``), which :func:`add_command` extends;
2. the ``torchaug.commands`` entry-point group of installed distributions (a plug-in package declares
   ``[project.entry-points."torchaug.commands"] gallery = "mypkg.gallery:main"``);
3. a ``torchaug.NAME`` module (or package with ``__main__``) that defines ``main``: ``torchaug corruptions
   ...`` runs ``torchaug.corruptions``' ``main``, like ``python -m torchaug.corruptions ...``.

A command's function is called with the remaining arguments as a list (``main(argv)``) when it takes
one, else with ``sys.argv`` set to them.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from typing import Any

COMMANDS: dict[str, tuple[str, str]] = {
    "train": ("torchaug.train:main", "train with augmentation (Hydra: +recipe=NAME, group=option, key=value)"),
    "preview": ("torchaug.preview:main", "draw what a transform pipeline or a resampler does into a PNG"),
    "gallery": ("torchaug.cli:gallery", "one picture per registered transform + docs/gallery.md ([DIR] [--only A,B])"),
}


def gallery(argv: list[str]) -> Any:
    """``torchaug gallery [DIR] [--only A,B]`` = ``python -m torchaug.preview --gallery [DIR] [--only A,B]``."""
    from torchaug.preview import main as preview_main

    rest = list(argv)
    if not rest or rest[0].startswith("--"):
        rest.insert(0, "docs")
    return preview_main(["--gallery", *rest])


def add_command(name: str, target: str, help: str = "") -> None:
    """Make ``torchaug NAME ...`` call ``target`` (``"package.module:function"``)."""
    if not name or not isinstance(name, str) or name.startswith("-"):
        raise ValueError(f"add_command: name must be a word; got {name!r}")
    if ":" not in target:
        raise ValueError(f"add_command: target must be 'module:function'; got {target!r}")
    COMMANDS[name] = (target, help)


def _entry_points() -> dict[str, tuple[str, str]]:
    from importlib.metadata import entry_points

    try:
        eps = entry_points(group="torchaug.commands")
    except Exception:  # noqa: BLE001 - broken metadata must not break the built-in commands
        return {}
    return {ep.name: (ep.value, f"(plug-in from {getattr(ep.dist, 'name', '?')})") for ep in eps}


def _module_command(name: str) -> str | None:
    """``torchaug.NAME:main`` when that module (or package ``__main__``) defines ``main``."""
    if not name.isidentifier() or name.startswith("_"):
        return None
    for mod in (f"torchaug.{name}", f"torchaug.{name}.__main__"):
        try:
            spec = importlib.util.find_spec(mod)
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            continue
        module = importlib.import_module(mod)
        if callable(getattr(module, "main", None)):
            return f"{mod}:main"
    return None


def resolve(name: str) -> str | None:
    """The ``module:function`` that ``torchaug NAME`` runs (None when there is none)."""
    if name in COMMANDS:
        return COMMANDS[name][0]
    found = _entry_points().get(name)
    return found[0] if found else _module_command(name)


def _load(target: str) -> Callable[..., Any]:
    module, _, func = target.partition(":")
    return getattr(importlib.import_module(module), func)


def overview() -> str:
    """The ``torchaug --help`` text: commands, recipes and config groups with their options."""
    from torchaug._paths import config_dir

    commands = {**_entry_points(), **COMMANDS}
    lines = ["torchaug: PyTorch-native training-time data augmentation", "",
             "Usage: torchaug COMMAND [ARGS ...]   (torchaug COMMAND --help for one command)", "", "Commands:"]
    lines += [f"  {n:<12} {h}" for n, (_, h) in sorted(commands.items())]
    lines.append("  NAME         any torchaug.NAME module with a main() (e.g. torchaug corruptions ... once it exists)")
    root = config_dir()
    recipes = sorted(p.stem for p in (root / "recipe").glob("*.yaml"))
    lines += ["", "Recipes (torchaug train +recipe=NAME):"]
    lines += _wrap(recipes)
    lines += ["", "Config groups (torchaug train GROUP=OPTION; any key as GROUP.KEY=VALUE):"]
    for group in sorted(p.name for p in root.iterdir() if p.is_dir() and p.name != "recipe"):
        options = sorted(q.stem for q in (root / group).glob("*.yaml"))
        if options:
            lines.append(f"  {group:<11} {', '.join(options)}")
    lines += ["", "Examples:",
              "  torchaug train                                      digits, small CNN, MixUp (offline, ~1 min)",
              "  torchaug train +recipe=mixup_cifar trainer.fast_dev_run=true",
              "  torchaug train trainer.max_epochs=5 mixer=cutmix logger=tensorboard",
              "  torchaug preview transforms=imagenet_standard"]
    return "\n".join(lines)


def _wrap(items: list[str], width: int = 100) -> list[str]:
    out, line = [], " "
    for item in items:
        if len(line) + len(item) + 2 > width:
            out.append(line.rstrip(", "))
            line = " "
        line += f" {item},"
    if line.strip():
        out.append(line.rstrip(","))
    return out


def _present_as_main(module: str) -> None:
    """Make ``__main__`` look like ``python -m MODULE`` (its ``__spec__``), so tools that relaunch the command
    line (Lightning's DDP launcher, Hydra) start ``python -m torchaug.train ARGS`` instead of the ``torchaug``
    script without its sub-command."""
    main_mod = sys.modules.get("__main__")
    if main_mod is None or module.endswith("__main__"):
        return
    spec = importlib.util.find_spec(module)
    if spec is not None:
        main_mod.__spec__ = spec


def main(argv: list[str] | None = None) -> Any:
    """Entry point of the ``torchaug`` command."""
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(overview())
        return 0 if args else 2
    name, rest = args[0], args[1:]
    target = resolve(name)
    if target is None:
        import difflib

        known = sorted({*COMMANDS, *_entry_points()})
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        sys.stderr.write(f"torchaug: unknown command {name!r}.{hint} Commands: {', '.join(known)} "
                         "(torchaug --help lists them with recipes and config groups)\n")
        sys.exit(2)
    func = _load(target)
    prog = f"torchaug {name}"
    try:
        takes = inspect.signature(func).parameters
    except (TypeError, ValueError):
        takes = {}
    sys.argv = [sys.argv[0], *rest]
    _present_as_main(target.partition(":")[0])
    if "argv" in takes:
        return func(argv=rest, **({"prog": prog} if "prog" in takes else {}))
    return func()


if __name__ == "__main__":
    main()
