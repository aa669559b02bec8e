"""Billing amounts for activations and deactivations: proration and early-termination fees.

Amounts are integers in minor units (cents, pence) with an explicit ISO 4217 currency; no
float ever touches money.

The rules, as the BSS is told them:

- **Billing periods** follow a monthly cycle anchored on `anchor_day` (1..28; 1 = calendar
  months): a period runs from one anchor day up to, not including, the next month's.
- **Days charged** are the days of the service from the activation date, inclusive, to the
  deactivation date, exclusive (dates in UTC). A service activated and deactivated on the
  same day is charged nothing; one activated on an anchor day is charged the whole period.
- **Proration** of a period is `price * days charged / days in that period`, the period's
  own length (28 to 31 days; February 29 counts in leap years), rounded half up to the
  minor unit. The price is the promotional price where a promotion covers the first day
  charged in the period, else the list price.
- **Early termination**: deactivated before the end of the minimum term (activation date plus
  `term_months`), the fee is `early_termination_fee` plus `fee_per_remaining_month` for each
  month of the term not yet begun.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class Promotion:
    price_minor: int
    start: date
    end: date  # the last day the promotional price applies


@dataclass(frozen=True)
class Terms:
    """What the commercial contract says about money."""

    price_minor: int  # per period
    currency: str
    anchor_day: int = 1
    promotion: Promotion | None = None
    term_months: int = 0
    early_termination_fee_minor: int = 0
    fee_per_remaining_month_minor: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.anchor_day <= 28:
            raise ValueError("anchor_day must be 1..28, so every month has one")
        if self.price_minor < 0 or len(self.currency) != 3:
            raise ValueError("a price is a non-negative amount with a 3-letter currency")

    def price_on(self, day: date) -> int:
        promo = self.promotion
        if promo and promo.start <= day <= promo.end:
            return promo.price_minor
        return self.price_minor


@dataclass(frozen=True)
class Proration:
    period_start: date
    period_end: date  # exclusive: the next anchor day
    days_charged: int
    days_in_period: int
    price_minor: int
    amount_minor: int
    currency: str

    def as_dict(self) -> dict[str, object]:
        return {"period_start": self.period_start.isoformat(),
                "period_end": self.period_end.isoformat(), "days_charged": self.days_charged,
                "days_in_period": self.days_in_period, "price_minor": self.price_minor,
                "amount_minor": self.amount_minor, "currency": self.currency}


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day if it is shorter."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = (date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month + 1, min(day.day, last))


def period_of(day: date, anchor_day: int) -> tuple[date, date]:
    """The billing period holding `day`: [start, end)."""
    start = day.replace(day=anchor_day)
    if day < start:
        start = add_months(start, -1)
    return start, add_months(start, 1)


def _prorate(terms: Terms, start: date, first: date, last_exclusive: date) -> Proration:
    period_start, period_end = period_of(start, terms.anchor_day)
    days = (min(last_exclusive, period_end) - first).days
    length = (period_end - period_start).days
    price = terms.price_on(first)
    amount = (Decimal(price) * days / length).quantize(Decimal(1), ROUND_HALF_UP)
    return Proration(period_start, period_end, max(days, 0), length, price, int(amount),
                     terms.currency)


def first_period(terms: Terms, activated: date) -> Proration:
    """What the partial first period costs, from the activation day to the next anchor."""
    return _prorate(terms, activated, activated, period_of(activated, terms.anchor_day)[1])


def final_period(terms: Terms, activated: date, deactivated: date) -> Proration:
    """What the last period costs, from its start (or the activation, if later) to the
    deactivation day, exclusive."""
    if deactivated < activated:
        raise ValueError("a service cannot end before it starts")
    period_start = period_of(deactivated, terms.anchor_day)[0]
    if deactivated == period_start and deactivated > activated:
        # Ending on an anchor day: the last period charged is the one before, in full.
        period_start = add_months(period_start, -1)
    first = max(activated, period_start)
    return _prorate(terms, period_start, first, deactivated)


def early_termination_fee(terms: Terms, activated: date, deactivated: date) -> int:
    if not terms.term_months:
        return 0
    term_end = add_months(activated, terms.term_months)
    if deactivated >= term_end:
        return 0
    months_started = 0
    while add_months(activated, months_started + 1) <= deactivated:
        months_started += 1
    remaining = terms.term_months - months_started - 1  # months of the term not yet begun
    return terms.early_termination_fee_minor + max(remaining, 0) \
        * terms.fee_per_remaining_month_minor
