"""``--audit``: off, on, free or a speech-to-text model; bad values are refused with a reason."""

from __future__ import annotations

import pytest

from voxbatch.audit.options import FREE_RECOGNIZER, NO_AUDIT, AuditError, AuditOptions, parse_audit
from voxbatch.defaults import DEFAULT_STT_MODEL


def test_the_four_kinds_of_value() -> None:
    assert parse_audit("") == parse_audit("off") == parse_audit(None) == NO_AUDIT
    assert not NO_AUDIT.hearing and NO_AUDIT.repeats == 1 and NO_AUDIT.recognizer is None
    on = parse_audit(" ON ")
    assert on == AuditOptions("on", DEFAULT_STT_MODEL) and on.hearing and on.repeats == 2
    assert on.recognizer == DEFAULT_STT_MODEL and on.describe() == "on"
    free = parse_audit("free")
    assert free.recognizer == FREE_RECOGNIZER and free.describe() == "free"
    model = parse_audit("nvidia/parakeet-tdt-0.6b-v3")
    assert model.mode == "on" and model.recognizer == model.describe() == "nvidia/parakeet-tdt-0.6b-v3"


def test_bad_values_are_refused() -> None:
    with pytest.raises(AuditError, match="off, on, free"):
        parse_audit("two words")
    with pytest.raises(AuditError, match="must be one of"):
        AuditOptions("loud")  # type: ignore[arg-type]
    with pytest.raises(AuditError, match="max_repeats"):
        AuditOptions("on", max_repeats=-1)
