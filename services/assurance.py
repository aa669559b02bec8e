"""Provisioned = paid: network truth against commercial truth, as exceptions.

Each rule is one set-based query over the services and contracts in scope (all of them, or
those a batch of events touched). A scan opens an exception for each new finding, refreshes
`last_seen` and the evidence of those still found, and closes those no longer found
(`cleared`, by FiberSync). An exception a person resolved with another code stays resolved
while its evidence is unchanged. A scoped scan also rescans the services sharing an ONT with
those it was given; an ONT recorded at an address by an installation is seen at the next
full scan.

| kind | severity | when |
|---|---|---|
| active_without_contract | red | active in the network, no active contract |
| speed_mismatch | red | the speed profile is not the one of the product sold |
| device_elsewhere | red | the service's ONT serial is recorded at another address |
| contract_without_network | amber | contract active, service not active for > grace days |
| promotion_expired | amber | an invoice after the promotion's end still at its price |
| activation_not_invoiced | amber | active for > N days with no invoice since |
"""

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import Conflict, NotFound

ServiceKey = tuple[int, str]


@dataclass(frozen=True)
class Rules:
    products: dict[str, str] = field(default_factory=dict)  # product -> "down/up" profile
    grace_days: int = 7  # contract active, network not
    invoice_days: int = 3  # activation without an invoice


# Two forms, not one with an OR: "everything OR in the list" defeats the index.
_SCOPE_ALL = """
scope AS MATERIALIZED (
  SELECT address_feature_id, isp_id FROM services
  UNION SELECT address_feature_id, isp_id FROM contracts
"""
_SCOPE_KEYS = """
keys AS (SELECT * FROM unnest(CAST(:addresses AS bigint[]), CAST(:isps AS text[]))
         AS k(address_feature_id, isp_id)),
scope AS MATERIALIZED (
  SELECT s.address_feature_id, s.isp_id
  FROM services s JOIN keys USING (address_feature_id, isp_id)
  UNION
  SELECT c.address_feature_id, c.isp_id
  FROM contracts c JOIN keys USING (address_feature_id, isp_id)
  UNION  -- a device rule involves the other services with the same ONT, now and before
  SELECT other.address_feature_id, other.isp_id
  FROM keys JOIN services s USING (address_feature_id, isp_id)
  JOIN services other ON other.ont_serial = s.ont_serial
  UNION
  SELECT x.address_feature_id, x.isp_id
  FROM assurance_exceptions x JOIN keys
    ON x.evidence -> 'seen_at_addresses' @> to_jsonb(keys.address_feature_id)
  WHERE x.kind = 'device_elsewhere' AND x.resolved_at IS NULL
"""
_IN_SCOPE = """), svc AS (
  SELECT s.* FROM services s JOIN scope USING (address_feature_id, isp_id)
), con AS (  -- the latest active contract per service
  SELECT DISTINCT ON (c.address_feature_id, c.isp_id) c.*
  FROM contracts c JOIN scope USING (address_feature_id, isp_id)
  WHERE c.status = 'active' ORDER BY c.address_feature_id, c.isp_id, c.signed_at DESC
)"""
# Invoices are looked up by index per contract (ix_commercial_events_contract), never joined
# as a CTE: its row estimate is poor and an anti-join on it goes quadratic.
_INVOICES = """commercial_events i
  WHERE i.isp_id = c.isp_id AND i.contract_ref = c.contract_ref
    AND i.event_type = 'invoice.issued' AND i.outcome = 'applied'"""

_FOUND = """
SELECT 'active_without_contract' AS kind, 'red' AS severity, s.address_feature_id,
       s.isp_id, NULL AS contract_ref,
       jsonb_build_object('activated_at', s.activated_at, 'subscriber', s.subscriber,
                          'product', s.product) AS evidence
FROM svc s LEFT JOIN con c USING (address_feature_id, isp_id)
WHERE s.status = 'active' AND c.id IS NULL
UNION ALL
SELECT 'speed_mismatch', 'red', s.address_feature_id, s.isp_id, c.contract_ref,
       jsonb_build_object('product_sold', c.product,
                          'profile_sold', CAST(:products AS jsonb) ->> c.product,
                          'profile_in_network', s.speed_profile)
FROM svc s JOIN con c USING (address_feature_id, isp_id)
WHERE s.status = 'active'
  AND (CAST(:products AS jsonb) ->> c.product) IS DISTINCT FROM s.speed_profile
UNION ALL
SELECT 'device_elsewhere', 'red', s.address_feature_id, s.isp_id, NULL,
       jsonb_build_object('ont_serial', s.ont_serial, 'seen_at_addresses',
         (SELECT jsonb_agg(DISTINCT o.feature_id ORDER BY o.feature_id) FROM (
            SELECT a.feature_id FROM addresses a
            WHERE a.ont_serial = s.ont_serial AND a.feature_id <> s.address_feature_id
            UNION
            SELECT s2.address_feature_id FROM services s2
            WHERE s2.ont_serial = s.ont_serial AND s2.status = 'active'
              AND s2.address_feature_id <> s.address_feature_id) o))
FROM svc s
WHERE s.status = 'active' AND s.ont_serial IS NOT NULL AND (
  EXISTS (SELECT 1 FROM addresses a WHERE a.ont_serial = s.ont_serial
          AND a.feature_id <> s.address_feature_id)
  OR EXISTS (SELECT 1 FROM services s2 WHERE s2.ont_serial = s.ont_serial
             AND s2.status = 'active' AND s2.address_feature_id <> s.address_feature_id))
UNION ALL
SELECT 'contract_without_network', 'amber', c.address_feature_id, c.isp_id, c.contract_ref,
       jsonb_build_object('signed_at', c.signed_at, 'service_status', s.status,
                          'inactive_since', greatest(c.signed_at, s.status_since))
FROM con c LEFT JOIN svc s USING (address_feature_id, isp_id)
WHERE s.status IS DISTINCT FROM 'active'
  AND greatest(c.signed_at, s.status_since) < CAST(:now AS timestamptz)
                                              - make_interval(days => :grace_days)
UNION ALL
SELECT 'promotion_expired', 'amber', c.address_feature_id, c.isp_id, c.contract_ref,
       jsonb_build_object('promotion_end', c.promotion_end,
                          'promotion_price_minor', c.promotion_price_minor,
                          'invoices', late.invoices)
FROM con c CROSS JOIN LATERAL (
  SELECT jsonb_agg(i.event_id ORDER BY i.event_time) AS invoices FROM """ + _INVOICES + """
    AND i.event_time::date > c.promotion_end AND i.amount_minor = c.promotion_price_minor
) late
WHERE c.promotion_end IS NOT NULL AND late.invoices IS NOT NULL
UNION ALL
SELECT 'activation_not_invoiced', 'amber', s.address_feature_id, s.isp_id, c.contract_ref,
       jsonb_build_object('activated_at', s.activated_at)
FROM svc s JOIN con c USING (address_feature_id, isp_id)
WHERE s.status = 'active' AND s.activated_at < CAST(:now AS timestamptz)
                                               - make_interval(days => :invoice_days)
  AND NOT EXISTS (SELECT 1 FROM """ + _INVOICES + """ AND i.event_time >= s.activated_at)
"""

_SCAN = """
WITH {scope}""" + _IN_SCOPE + """, found AS MATERIALIZED (""" + _FOUND + """
), opened AS (
  INSERT INTO assurance_exceptions AS x (kind, severity, address_feature_id, isp_id,
                                         contract_ref, evidence, first_seen, last_seen)
  SELECT f.kind, f.severity, f.address_feature_id, f.isp_id, f.contract_ref, f.evidence,
         CAST(:now AS timestamptz), CAST(:now AS timestamptz)
  FROM found f
  WHERE NOT EXISTS (  -- resolved by a person, and nothing has changed since
    SELECT 1 FROM assurance_exceptions r
    WHERE r.kind = f.kind AND r.address_feature_id = f.address_feature_id
      AND r.isp_id = f.isp_id AND r.resolved_at IS NOT NULL
      AND r.resolution_code <> 'cleared' AND r.evidence = f.evidence)
  ORDER BY f.kind, f.address_feature_id, f.isp_id
  ON CONFLICT (kind, address_feature_id, isp_id) WHERE resolved_at IS NULL DO UPDATE
    SET last_seen = excluded.last_seen, evidence = excluded.evidence,
        contract_ref = excluded.contract_ref
  RETURNING (xmax = 0) AS is_new
), cleared AS (
  UPDATE assurance_exceptions x
  SET resolved_at = CAST(:now AS timestamptz), resolved_by = 'fibersync',
      resolution_code = 'cleared', resolution_note = 'the condition no longer holds'
  FROM scope
  WHERE x.resolved_at IS NULL AND x.address_feature_id = scope.address_feature_id
    AND x.isp_id = scope.isp_id
    AND NOT EXISTS (SELECT 1 FROM found f WHERE f.kind = x.kind
                    AND f.address_feature_id = x.address_feature_id AND f.isp_id = x.isp_id)
  RETURNING x.id
)
SELECT (SELECT count(*) FROM found) AS found,
       (SELECT count(*) FROM opened WHERE is_new) AS opened,
       (SELECT count(*) FROM cleared) AS cleared
"""


@dataclass(frozen=True)
class ScanCounts:
    found: int
    opened: int
    cleared: int


def scan(session: Session, rules: Rules, now: datetime,
         keys: set[ServiceKey] | None = None) -> ScanCounts:
    """Recompute the exceptions of the given services (None: every service and contract)."""
    ordered = sorted(keys or ())
    sql = _SCAN.replace("{scope}", _SCOPE_ALL if keys is None else _SCOPE_KEYS)
    row = session.execute(text(sql), {
        "addresses": [k[0] for k in ordered],
        "isps": [k[1] for k in ordered], "products": json.dumps(rules.products),
        "grace_days": rules.grace_days, "invoice_days": rules.invoice_days, "now": now,
    }).one()
    return ScanCounts(row.found, row.opened, row.cleared)


def keys_of_contracts(session: Session, refs: set[tuple[str, str]]) -> set[ServiceKey]:
    """The services named by (isp, contract reference) pairs."""
    if not refs:
        return set()
    ordered = sorted(refs)
    rows = session.execute(text(
        "SELECT address_feature_id, isp_id FROM contracts WHERE (isp_id, contract_ref) IN "
        "(SELECT * FROM unnest(CAST(:isps AS text[]), CAST(:refs AS text[])))"),
        {"isps": [r[0] for r in ordered], "refs": [r[1] for r in ordered]})
    return {(r.address_feature_id, r.isp_id) for r in rows}


_LIST = """
SELECT id, kind, severity, address_feature_id, isp_id, contract_ref, evidence, first_seen,
       last_seen, resolved_at, resolved_by, resolution_code, resolution_note
FROM assurance_exceptions
WHERE id > :after
  AND (CAST(:severity AS text) IS NULL OR severity = :severity)
  AND (CAST(:kind AS text) IS NULL OR kind = :kind)
  AND (CAST(:isp AS text) IS NULL OR isp_id = :isp)
  AND (CAST(:open AS boolean) IS NULL OR (resolved_at IS NULL) = :open)
ORDER BY id LIMIT :limit
"""


def list_exceptions(session: Session, *, severity: str | None = None,
                    kind: str | None = None, isp: str | None = None,
                    open_only: bool | None = True, after: int = 0,
                    limit: int = 100) -> list[dict[str, Any]]:
    rows = session.execute(text(_LIST), {"severity": severity, "kind": kind, "isp": isp,
                                         "open": open_only, "after": after, "limit": limit})
    return [dict(row._mapping) for row in rows]


def resolve(session: Session, exception_id: int, code: str, note: str | None,
            who: str, now: datetime) -> dict[str, Any]:
    """Close an open exception with a reason code; the audit trail is the row itself."""
    if code == "cleared":
        raise Conflict("'cleared' is FiberSync's own code for a condition that ended")
    row = session.execute(text("""
        UPDATE assurance_exceptions SET resolved_at = :now, resolved_by = :who,
               resolution_code = :code, resolution_note = :note
        WHERE id = :id AND resolved_at IS NULL RETURNING id"""),
        {"now": now, "who": who, "code": code, "note": note, "id": exception_id}).first()
    if row is None:
        exists = session.execute(text("SELECT 1 FROM assurance_exceptions WHERE id = :id"),
                                 {"id": exception_id}).first()
        if exists is None:
            raise NotFound(f"exception {exception_id} does not exist")
        raise Conflict(f"exception {exception_id} is already resolved")
    return list_exceptions(session, open_only=None, after=exception_id - 1, limit=1)[0]
