"""The first load of contracts from a CSV export of the BSS: COPY into a staging table, then
one set-based insert. Contracts already known are left alone; rows naming unknown addresses
are reported, not loaded. Services already active are recorded as already billing (the BSS
bills them today), so the load sends no `billing.start`.

CSV header: isp, contract, address, product, price_minor, currency, signed_at, and
optionally anchor_day, term_months, early_termination_fee_minor,
fee_per_remaining_month_minor, promotion_price_minor, promotion_start, promotion_end.
"""

from dataclasses import dataclass
from typing import IO

import psycopg
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import InvalidInput

REQUIRED = ("isp", "contract", "address", "product", "price_minor", "currency", "signed_at")
OPTIONAL = ("anchor_day", "term_months", "early_termination_fee_minor",
            "fee_per_remaining_month_minor", "promotion_price_minor", "promotion_start",
            "promotion_end")

_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS stage_contracts (
  isp text, contract text, address bigint, product text, price_minor bigint, currency text,
  signed_at timestamptz, anchor_day int, term_months int, early_termination_fee_minor bigint,
  fee_per_remaining_month_minor bigint, promotion_price_minor bigint, promotion_start date,
  promotion_end date) ON COMMIT DROP;
TRUNCATE stage_contracts
"""

_LOAD = """
WITH staged AS (
  SELECT s.* FROM stage_contracts s JOIN addresses a ON a.feature_id = s.address
  WHERE NOT a.retired
), inserted AS (
  INSERT INTO contracts (isp_id, contract_ref, address_feature_id, product, price_minor,
                         currency, anchor_day, term_months, early_termination_fee_minor,
                         fee_per_remaining_month_minor, promotion_price_minor,
                         promotion_start, promotion_end, status, signed_at, last_event_time,
                         billing_started_for)
  SELECT st.isp, st.contract, st.address, st.product, st.price_minor, upper(st.currency),
         coalesce(st.anchor_day, 1), coalesce(st.term_months, 0),
         coalesce(st.early_termination_fee_minor, 0),
         coalesce(st.fee_per_remaining_month_minor, 0), st.promotion_price_minor,
         st.promotion_start, st.promotion_end, 'active', st.signed_at, st.signed_at,
         sv.activated_at
  FROM staged st LEFT JOIN services sv
    ON sv.address_feature_id = st.address AND sv.isp_id = st.isp
  ORDER BY st.isp, st.contract
  ON CONFLICT (isp_id, contract_ref) DO NOTHING
  RETURNING 1
)
SELECT (SELECT count(*) FROM stage_contracts) AS read,
       (SELECT count(*) FROM inserted) AS loaded,
       (SELECT count(*) FROM stage_contracts) - (SELECT count(*) FROM staged) AS unknown
"""


@dataclass(frozen=True)
class LoadCounts:
    read: int
    loaded: int
    already_known: int
    unknown_address: int


def load_contracts(session: Session, csv_file: IO[str]) -> LoadCounts:
    """Load every row or none (a malformed value fails the whole load with its reason)."""
    header = [name.strip() for name in csv_file.readline().strip().split(",")]
    missing = [name for name in REQUIRED if name not in header]
    unknown = [name for name in header if name not in REQUIRED + OPTIONAL]
    if missing or unknown:
        raise InvalidInput(f"CSV header: missing {missing or 'nothing'}, "
                           f"unknown {unknown or 'nothing'}")
    session.execute(text(_STAGE))
    cursor = session.connection().connection.cursor()
    columns = ", ".join(header)
    try:
        with cursor.copy(f"COPY stage_contracts ({columns}) FROM STDIN (FORMAT csv)") as copy:
            while chunk := csv_file.read(1 << 16):
                copy.write(chunk)
    except psycopg.errors.DataError as error:  # the message names the line and the value
        raise InvalidInput(f"the CSV could not be read; nothing was loaded: {error}") from None
    row = session.execute(text(_LOAD)).one()
    return LoadCounts(row.read, row.loaded, row.read - row.loaded - row.unknown, row.unknown)
