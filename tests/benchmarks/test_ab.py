"""benchmarks/ab.py: cells that carry a sign or a spread are values, so row labels stay the same run to run."""

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("ab", Path(__file__).parents[2] / "benchmarks" / "ab.py")
ab = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ab)


@pytest.mark.parametrize(
    "cell, value",
    [("1,234", 1234.0), ("2.5x", 2.5), ("12.3 ms", 12.3), ("+21.0 %", 21.0), ("-3 %", -3.0),
     ("0.123 (0.02)", 0.123), ("**0.936**", 0.936), ("SMOTE", None), ("—", None), ("20,000 / 1,000 / 16", None)],
)
def test_parse_number(cell: str, value: float | None) -> None:
    assert ab.parse_number(cell) == value


def test_rows_keyed_alike_across_runs() -> None:
    def run(over: str, ms: str) -> str:
        return (f"| model | hook | ms | overhead |\n|---|---|---|---|\n| cnn | MoEx | {ms} | {over} |\n"
                f"| 20,000 / 1,000 / 16 | SMOTE | {ms} ({ms}) | — |\n")

    a, b = ab.measurements(run("+21.0 %", "10.5")), ab.measurements(run("-1.2 %", "9.8"))
    assert list(a) == list(b) and len(a) == 3
    assert a[next(iter(a))] == 10.5 and b[next(iter(b))] == 9.8


@pytest.mark.parametrize(
    "header, sign",
    [("img/s", 1), ("speed-up", 1), ("ours vs peer", 1), ("time / clone", -1), ("x a copy", -1), ("ms / step (median)", -1),
     ("overhead vs no hook (fastest)", -1), ("overhead", -1), ("pipeline", 0)],
)
def test_direction(header: str, sign: int) -> None:
    assert ab.direction(header) == sign


def test_slash_lists_after_the_first_cell_are_values() -> None:
    # the SMOTE table: "112 / 114" (peak RSS of two phases) changes run to run; it must not key the row
    def run(rss: str, s: str) -> str:
        return ("| majority / minority / features | torchaug s (cpu s) | exact | peak RSS knn / SMOTE (MiB) |\n"
                f"|---|---|---|---|\n| 90,000 / 10,000 / 32 | {s} (0.5) | yes (0) / yes (0) | {rss} |\n")

    a, b = ab.measurements(run("112 / 114", "0.289")), ab.measurements(run("164 / 90", "0.301"))
    assert list(a) == list(b) and len(a) == 3
    (_, label, _), *_ = a
    assert label == ("90,000 / 10,000 / 32", "yes (0) / yes (0)")
    assert [a[k] for k in a] == [0.289, 112.0, 114.0] and [b[k] for k in b] == [0.301, 164.0, 90.0]
