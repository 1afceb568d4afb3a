"""``make bench`` runs every benchmark in ``bench/``, the audit's calibration included (``BENCH=audit``)."""

from __future__ import annotations

from pathlib import Path

from bench.__main__ import BENCHMARKS
from tests.conftest import REPO_ROOT


def test_every_benchmark_module_is_run_by_make_bench() -> None:
    modules = {path.stem for path in Path(REPO_ROOT / "bench").glob("*.py") if not path.stem.startswith("_")}
    assert {module.__name__.removeprefix("bench.") for module in BENCHMARKS.values()} == modules
    assert BENCHMARKS["audit"].__name__ == "bench.calibrate_audit"
    assert all(callable(getattr(module, "run", None)) for module in BENCHMARKS.values())
