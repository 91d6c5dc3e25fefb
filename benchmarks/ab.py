"""A/B timing of one benchmark script at two git revisions: did a change lose speed?

    python benchmarks/ab.py benchmarks/transforms.py -- --quick
    python benchmarks/ab.py benchmarks/mixing.py --before main --after HEAD --runs 5 --aa -- --reps 10
    python benchmarks/ab.py benchmarks/hooks.py --runs 3 -- --models small_cnn --reps 4
    python benchmarks/ab.py benchmarks/resampling.py --runs 3 -- --only smote --repeats 2

``--before`` (default ``main``) and ``--after`` (default: the working tree, uncommitted changes
included) are checked out as temporary detached ``git worktree``s (``--after`` only when it names a
revision), removed at the end. The script runs ``--runs`` times per revision, the revisions
alternating (before, after, before, ...; with ``--aa`` a second copy of the before revision runs
each round too: before, before again, after), each run a fresh process with that tree first on
``PYTHONPATH`` and as its working directory; the arguments after ``--`` go to the script.

Every markdown table the script prints is parsed; a row is known by its table's header and its
non-numeric cells, and every numeric cell of it is compared: per row and column, the median over
the runs before and after, after/before, and the noise. The noise is, with ``--aa``, the
relative difference of the two before medians (an A/A run: the same code measured the same way);
without it, the spread of the before runs (interquartile range / median). Whether larger is
better comes from the column header: throughputs (``/s``, ``per s``, ``speed-up``, ``x``
ratios of ours to a peer) are better larger, times (``ms``, ``s``, ``time``, ``µs``) and costs in
units of a copy (``× copy``) smaller;
other numeric columns are shown but not judged. A row is flagged ``LOSS`` when it got worse by
more than ``max(5%, noise)``. Rows of peers (other libraries) measure the machine, not the
change: their after/before is the best estimate of drift between the runs.

On a loaded machine the medians move by more than 5% on their own: read the A/A column before
believing a flag, and re-run quietly (``--runs 7 --aa``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from collections import OrderedDict

_NUM = re.compile(
    r"^\s*[~≈]?\s*([-+]?[\d,]*\.?\d+(?:e[-+]?\d+)?)\s*(x|×|%|ms|µs|us|s|img/s|/s)?\s*\**\s*(\([^()]*\))?\s*$", re.I
)  # "+21.0 %", "0.123 (0.02)": the value, its sign, unit and a bracketed spread


def parse_number(cell: str) -> float | None:
    """``"1,234"``, ``"2.5x"``, ``"12.3 ms"``, ``"+4.1 %"``, ``"0.12 (0.02)"`` -> a float; anything else -> None."""
    m = _NUM.match(cell.replace("**", ""))
    if not m:
        return None
    try:
        return float(m.group(1).replace(",", ""))
    except ValueError:
        return None


def _number_list(cell: str) -> list[float] | None:
    """``"112 / 114"`` -> ``[112.0, 114.0]``; anything that is not two or more numbers -> None."""
    vals = [parse_number(c) for c in cell.split("/")]
    return vals if len(vals) > 1 and all(v is not None for v in vals) else None


def parse_tables(text: str) -> list[tuple[tuple[str, ...], list[list[str]]]]:
    """Every markdown table of ``text``: ``(header cells, rows of cells)``."""
    tables, lines = [], text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if line.startswith("|") and re.match(r"^\|?\s*:?-{2,}", nxt):
            header = tuple(c.strip() for c in line.strip("|").split("|"))
            rows, i = [], i + 2
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append([c.strip() for c in lines[i].strip().strip("|").split("|")])
                i += 1
            tables.append((header, rows))
        else:
            i += 1
    return tables


def direction(header: str) -> int:
    """+1: larger is better, -1: smaller is better, 0: not judged."""
    h = header.lower()
    if re.search(r"(\bx\b|×)\s*(a\s+)?(plain\s+)?(copy|collate|clone)", h):  # a cost in units of a copy
        return -1
    if "overhead" in h:  # "overhead vs no hook": a cost, even though it names what it is compared with
        return -1
    if any(k in h for k in ("/s", "per s", "per second", "throughput", "speed-up", "speedup", "ratio", " vs ")):
        return 1
    if re.search(r"\bx\b|×", h):
        return 1
    if any(k in h for k in ("ms", "µs", " us", "(s)", "time", "seconds", "latency", "overhead", " s ", "wall", "cpu s")):
        return -1
    return 0


def measurements(text: str) -> "OrderedDict[tuple, float]":
    """``(table header, row label, column) -> value`` for every numeric cell of every table."""
    out: OrderedDict[tuple, float] = OrderedDict()
    for header, rows in parse_tables(text):
        seen: dict[tuple, int] = {}
        for row in rows:
            nums = [parse_number(c) for c in row]
            # "112 / 114" after the first cell: several measured values, not a label (the first cell,
            # "90,000 / 10,000 / 32", names the row)
            parts = [None if j == 0 or v is not None else _number_list(c) for j, (c, v) in enumerate(zip(row, nums))]
            label = tuple(c for c, v, p in zip(row, nums, parts) if v is None and p is None)
            n = seen[label] = seen.get(label, -1) + 1  # repeated labels: number them
            key = label + ((f"#{n}",) if n else ())
            for col, (cell_header, v, p) in enumerate(zip(header, nums, parts)):
                name = cell_header or f"col{col}"
                if v is not None:
                    out[(header, key, name)] = v
                for j, pv in enumerate(p or ()):
                    out[(header, key, f"{name} [{j + 1}]")] = pv
    return out


def _tree(repo: str, rev: str, tmp: str, name: str) -> str:
    path = os.path.join(tmp, name)
    subprocess.run(["git", "-C", repo, "worktree", "add", "--detach", "--quiet", path, rev], check=True)
    return path


def run_once(python: str, tree: str, script: str, args: list[str], timeout: float) -> str:
    env = dict(os.environ)
    env["PYTHONPATH"] = tree + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    with subprocess.Popen([python, os.path.join(tree, script), *args], cwd=tree, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except BaseException:  # timeout, Ctrl-C, SIGTERM: do not leave the benchmark running
            proc.kill()
            proc.wait()
            raise
    if proc.returncode != 0:
        raise SystemExit(f"ab.py: {script} failed in {tree} (exit {proc.returncode}):\n{stderr[-3000:]}")
    return stdout


def _iqr_spread(vals: list[float]) -> float:
    if len(vals) < 3:
        return abs(max(vals) - min(vals)) / abs(statistics.median(vals)) if statistics.median(vals) else 0.0
    q = statistics.quantiles(vals, n=4)
    med = statistics.median(vals)
    return abs(q[2] - q[0]) / abs(med) if med else 0.0


def compare(before: list[dict], after: list[dict], aa: list[dict] | None, min_loss: float = 0.05) -> list[list]:
    """Rows ``[table, row, column, before, after, after/before, noise, verdict]``."""
    keys = [k for k in before[0] if all(k in m for m in before + after + (aa or []))]
    rows = []
    for k in keys:
        b = [m[k] for m in before]
        a = [m[k] for m in after]
        mb, ma = statistics.median(b), statistics.median(a)
        ratio = ma / mb if mb else float("nan")
        if aa:
            m2 = statistics.median([m[k] for m in aa])
            noise = abs(m2 / mb - 1.0) if mb else 0.0
        else:
            noise = _iqr_spread(b)
        d = direction(k[2])
        loss = (1.0 / ratio - 1.0 if d > 0 else ratio - 1.0) if d and mb and ma else 0.0
        verdict = "" if not d else ("LOSS" if loss > max(min_loss, noise) else "ok")
        table = k[0][0] if k[0] else ""
        rows.append([table, " / ".join(k[1]), k[2], mb, ma, ratio, noise, verdict])
    return rows


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    script_args: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, script_args = argv[:i], argv[i + 1 :]
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__)
    ap.add_argument("script", help="benchmark script, relative to the repository root (benchmarks/transforms.py)")
    ap.add_argument("--before", default="main", help="git revision (default main)")
    ap.add_argument("--after", default=None, help="git revision (default: the working tree as it is)")
    ap.add_argument("--runs", type=int, default=5, help="runs per revision (default 5)")
    ap.add_argument("--aa", action="store_true", help="also run --before a second time each round: the A/A noise")
    ap.add_argument("--min-loss", type=float, default=0.05, help="smallest loss flagged (default 0.05 = 5%%)")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per run")
    ap.add_argument("--show-all", action="store_true", help="also the columns that are not judged")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still remove the worktrees (the finally below)
    repo = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=True).stdout.strip()
    tmp = tempfile.mkdtemp(prefix="torchaug-ab-")
    trees = []
    try:
        before_tree = _tree(repo, args.before, tmp, "before")
        trees.append(before_tree)
        if args.after is None:
            after_tree = repo
        else:
            after_tree = _tree(repo, args.after, tmp, "after")
            trees.append(after_tree)
        runs: dict[str, list[dict]] = {"before": [], "after": [], "aa": []}
        for r in range(args.runs):
            order = [("before", before_tree)] + ([("aa", before_tree)] if args.aa else []) + [("after", after_tree)]
            if r % 2:  # alternate which revision goes first
                order.reverse()
            for name, tree in order:
                print(f"[ab] run {r + 1}/{args.runs}: {name}", file=sys.stderr, flush=True)
                runs[name].append(measurements(run_once(args.python, tree, args.script, script_args, args.timeout)))
        if not runs["before"][0]:
            raise SystemExit(f"ab.py: {args.script} printed no markdown table")
        rows = compare(runs["before"], runs["after"], runs["aa"] or None, args.min_loss)
        load = os.getloadavg() if hasattr(os, "getloadavg") else None
        after_name = args.after or "working tree"
        print(f"{args.script} {' '.join(script_args)}: before = {args.before}, after = {after_name}, "
              f"{args.runs} runs each{' + A/A' if args.aa else ''}; load average now {load}")
        print("| table | row | column | before | after | after/before | noise | |")
        print("|---|---|---|---|---|---|---|---|")
        for t, label, col, mb, ma, ratio, noise, verdict in rows:
            if verdict or args.show_all:
                print(f"| {t} | {label} | {col} | {_fmt(mb)} | {_fmt(ma)} | {ratio:.3f} | {noise:.1%} | {verdict} |")
        losses = [r for r in rows if r[-1] == "LOSS"]
        print(f"\n{len(losses)} of {sum(1 for r in rows if r[-1])} judged cells flagged LOSS "
              f"(worse by more than max({args.min_loss:.0%}, noise))")
        return 1 if losses else 0
    finally:
        for t in trees:
            subprocess.run(["git", "-C", repo, "worktree", "remove", "--force", t], check=False, capture_output=True)
        subprocess.run(["git", "-C", repo, "worktree", "prune"], check=False, capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
