"""Proration and early-termination fees against hand-computed cases."""

from datetime import date

import pytest

from services.billing import (
    Promotion,
    Terms,
    add_months,
    early_termination_fee,
    final_period,
    first_period,
)

MONTHLY = Terms(price_minor=3000, currency="EUR")  # 30.00 EUR a month, calendar months


@pytest.mark.parametrize(("start", "months", "expected"), [
    (date(2024, 1, 31), 1, date(2024, 2, 29)),  # leap February
    (date(2023, 1, 31), 1, date(2023, 2, 28)),
    (date(2024, 12, 15), 1, date(2025, 1, 15)),
    (date(2024, 1, 15), -1, date(2023, 12, 15)),
    (date(2024, 3, 31), -1, date(2024, 2, 29)),
])
def test_add_months_keeps_the_day_or_the_months_last(start, months, expected):
    assert add_months(start, months) == expected


@pytest.mark.parametrize(("terms", "activated", "days", "length", "amount"), [
    (MONTHLY, date(2023, 2, 15), 14, 28, 1500),  # 3000 * 14 / 28
    (MONTHLY, date(2024, 2, 15), 15, 29, 1552),  # leap year: 3000 * 15 / 29 = 1551.72
    (MONTHLY, date(2024, 1, 31), 1, 31, 97),  # month end: 3000 / 31 = 96.77
    (MONTHLY, date(2024, 4, 1), 30, 30, 3000),  # on the anchor day: the whole period
    (Terms(3000, "EUR", anchor_day=15), date(2024, 2, 10), 5, 31, 484),  # 15 Jan..15 Feb
    (Terms(3000, "EUR", anchor_day=28), date(2023, 3, 1), 27, 28, 2893),  # 28 Feb..28 Mar
    (Terms(15, "EUR"), date(2024, 4, 30), 1, 30, 1),  # 0.5 rounds half up
])
def test_the_first_period_is_prorated_by_its_own_length(terms, activated, days, length,
                                                         amount):
    proration = first_period(terms, activated)
    assert (proration.days_charged, proration.days_in_period, proration.amount_minor) == (
        days, length, amount)
    assert proration.currency == "EUR"


def test_a_promotion_prices_the_days_it_covers():
    terms = Terms(3000, "EUR", promotion=Promotion(1500, date(2024, 1, 1), date(2024, 6, 30)))
    assert first_period(terms, date(2024, 6, 16)).amount_minor == 750  # 1500 * 15 / 30
    assert first_period(terms, date(2024, 7, 16)).amount_minor == 1548  # 3000 * 16 / 31


@pytest.mark.parametrize(("activated", "deactivated", "days", "length", "amount"), [
    (date(2024, 1, 10), date(2024, 3, 15), 14, 31, 1355),  # 1..14 March: 1354.84
    (date(2024, 1, 10), date(2024, 3, 1), 29, 29, 3000),  # ends on the anchor: February whole
    (date(2024, 3, 5), date(2024, 3, 20), 15, 31, 1452),  # both in one period: 1451.61
    (date(2024, 3, 15), date(2024, 3, 15), 0, 31, 0),  # same day: nothing
    (date(2024, 3, 1), date(2024, 3, 1), 0, 31, 0),  # same anchor day: nothing
])
def test_the_final_period_charges_the_days_used(activated, deactivated, days, length, amount):
    proration = final_period(MONTHLY, activated, deactivated)
    assert (proration.days_charged, proration.days_in_period, proration.amount_minor) == (
        days, length, amount)


def test_a_service_cannot_end_before_it_starts():
    with pytest.raises(ValueError):
        final_period(MONTHLY, date(2024, 3, 2), date(2024, 3, 1))


def test_early_termination_fee_counts_the_months_not_yet_begun():
    terms = Terms(3000, "EUR", term_months=12, early_termination_fee_minor=5000,
                  fee_per_remaining_month_minor=1000)
    activated = date(2024, 1, 31)
    # 1 March is in the term's 2nd month (it began 29 Feb): 10 months not yet begun.
    assert early_termination_fee(terms, activated, date(2024, 3, 1)) == 15000
    assert early_termination_fee(terms, activated, date(2024, 2, 28)) == 5000 + 11 * 1000
    assert early_termination_fee(terms, activated, date(2025, 1, 30)) == 5000  # last month
    assert early_termination_fee(terms, activated, date(2025, 1, 31)) == 0  # term served
    assert early_termination_fee(MONTHLY, activated, date(2024, 2, 1)) == 0  # no term


def test_terms_refuse_impossible_values():
    with pytest.raises(ValueError):
        Terms(3000, "EUR", anchor_day=31)
    with pytest.raises(ValueError):
        Terms(-1, "EUR")
