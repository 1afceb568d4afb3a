"""What a run spec decides from the environment: whether the run draws its charts."""

from __future__ import annotations

import pytest

from voxbatch.run.spec import CHARTS_ENV, RunSpec


@pytest.mark.parametrize(("value", "on"), [(None, True), ("", True), ("on", True), ("off", False), (" OFF ", False),
                                           ("0", False), ("false", False), ("no", False)])  # fmt: skip
def test_charts_follow_the_environment_unless_the_spec_says(
    monkeypatch: pytest.MonkeyPatch, value: str | None, on: bool
) -> None:
    if value is None:
        monkeypatch.delenv(CHARTS_ENV, raising=False)
    else:
        monkeypatch.setenv(CHARTS_ENV, value)
    assert RunSpec().charts_on() is on
    assert RunSpec(charts=True).charts_on() and not RunSpec(charts=False).charts_on()
