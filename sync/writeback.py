"""What FiberSync writes back to an IQGeo address: its FiberSync-owned facts, mapped by
configuration onto IQGeo fields. Always the current facts, so a late retry cannot regress."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.queries.services import LEADING_SERVICE_FILTER, LEADING_SERVICE_ORDER
from sync.iqgeo.settings import IQGeoSettings

# Outbox topics that change what an address shows in IQGeo.
WRITEBACK_TOPICS = frozenset({"address.status_changed", "service.changed"})

_FACTS = text(f"""
SELECT a.feature_id, a.status, a.retired, s.status AS service_status, s.isp_id AS isp,
       s.subscriber, s.product, s.speed_profile, s.activated_at
FROM addresses a
LEFT JOIN LATERAL (
  SELECT * FROM services s
  WHERE s.address_feature_id = a.feature_id AND {LEADING_SERVICE_FILTER}
  ORDER BY {LEADING_SERVICE_ORDER}
  LIMIT 1) s ON true
WHERE a.feature_id = ANY(:ids)
""")


@dataclass(frozen=True)
class AddressFacts:
    feature_id: int
    status: str
    retired: bool
    service_status: str | None
    isp: str | None
    subscriber: str | None
    product: str | None
    speed_profile: str | None
    activated_at: datetime | None


def load_facts(session: Session, feature_ids: list[int]) -> dict[int, AddressFacts]:
    rows = session.execute(_FACTS, {"ids": feature_ids})
    return {row.feature_id: AddressFacts(**row._mapping) for row in rows}


def iqgeo_properties(facts: AddressFacts, settings: IQGeoSettings) -> dict[str, Any]:
    """The IQGeo address fields to send (only the configured FiberSync-owned ones)."""
    status = (settings.writeback_service_values.get(facts.service_status or "")
              or settings.writeback_physical_values.get(facts.status))
    values: dict[str, Any] = {
        "service_status": status, "subscriber": facts.subscriber, "isp": facts.isp,
        "product": facts.product, "speed_profile": facts.speed_profile,
        "activated_at": facts.activated_at.date().isoformat() if facts.activated_at else None,
    }
    return {field: values[fact] for fact, field in settings.writeback_fields.items()
            if fact in values and not (fact == "service_status" and status is None)}
