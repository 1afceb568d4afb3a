"""The budget cap: admission against spend plus reservations, and spend moving out of reservations."""

from __future__ import annotations

import pytest

from tests.voxbatch.ledger.record_factory import make_record
from voxbatch.run.budget import Budget


def test_items_are_admitted_while_spend_plus_reservations_fit() -> None:
    budget = Budget(1.0)
    assert budget.admit("a", 0.6).admitted
    refused = budget.admit("b", 0.5)
    assert (
        not refused.admitted and "$0.5000" in str(refused.reason) and "$0.4000 of $1.0000 left" in str(refused.reason)
    )
    assert budget.admit("c", 0.4).admitted  # exactly the rest fits
    assert budget.reserved_usd == pytest.approx(1.0)


def test_spend_moves_out_of_the_reservation_and_release_frees_the_rest() -> None:
    budget = Budget(1.0)
    budget.admit("a", 0.6)
    budget.observe(make_record(item_id="a", cost_usd=0.25))
    budget.observe(make_record(item_id="a", cost_usd=None))  # unknown price: nothing to count
    budget.observe(make_record(item_id="a", cost_usd=0.9, kind="item"))  # summaries are not spend
    assert budget.spent_usd == pytest.approx(0.25) and budget.reserved_usd == pytest.approx(0.35)
    budget.release("a")  # a failed item: what it did not spend is free again
    assert budget.reserved_usd == 0.0
    assert budget.admit("b", 0.75).admitted and not budget.admit("c", 0.01).admitted


def test_unknown_prices_never_fit_and_bad_caps_are_refused() -> None:
    budget = Budget(100.0)
    refused = budget.admit("a", None)
    assert not refused.admitted and "unknown" in str(refused.reason)
    assert Budget(0.0).admit("free", 0.0).admitted  # cached work costs nothing, even at a zero cap
    with pytest.raises(ValueError, match="zero or more"):
        Budget(-1.0)


def test_a_lost_item_counts_its_whole_reservation_as_spent() -> None:
    budget = Budget(1.0)
    budget.admit("a", 0.6)
    budget.observe(make_record(item_id="a", cost_usd=0.1))
    budget.forfeit("a")  # its worker vanished: what it spent is unknown
    assert budget.spent_usd == pytest.approx(0.6) and budget.reserved_usd == 0.0
    budget.release("a")  # the flow's usual release afterwards changes nothing
    assert budget.spent_usd == pytest.approx(0.6) and not budget.admit("b", 0.5).admitted


def test_what_a_timed_out_call_may_have_cost_stays_spent() -> None:
    budget = Budget(1.0)
    budget.admit("a", 0.3)
    timed_out = make_record(item_id="a", status="failed", cost_usd=0.0, possibly_billed_attempts=2,
                            possibly_billed_usd=0.2)  # fmt: skip
    budget.observe(timed_out)
    budget.observe(make_record(item_id="a", cost_usd=0.1, possibly_billed_attempts=1, possibly_billed_usd=0.1))
    assert budget.spent_usd == pytest.approx(0.4) and budget.reserved_usd == 0.0
    budget.release("a")  # the item ended: nothing of the possibly billed spend is given back
    assert budget.spent_usd == pytest.approx(0.4)
    assert not budget.admit("b", 0.61).admitted and budget.admit("c", 0.6).admitted
