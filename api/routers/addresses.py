"""Addresses as imported from IQGeo, with their status and circuits (`/addresses`)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from api.auth import Principal
from api.deps import SessionDep, require_roles
from api.paging import next_links
from gis.errors import NotFound
from gis.queries import addresses as queries
from gis.status import AddressStatus, Role
from services.events import service_history
from workorders.orders import installation_records

router = APIRouter(prefix="/addresses", tags=["addresses"])
Reader = Annotated[Principal, Depends(require_roles(Role.planner, Role.bss))]


@router.get("")
def list_addresses(request: Request, session: SessionDep, _: Reader,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                   after: Annotated[int | None, Query(description="feature id to page after")]
                   = None,
                   status: AddressStatus | None = None,
                   include_retired: bool = False,
                   q: Annotated[str | None, Query(
                       min_length=1, max_length=200,
                       description="feature id, postcode, or the start of the address or "
                                   "street (any case and accents); no paging")] = None,
                   ) -> dict[str, Any]:
    """A GeoJSON FeatureCollection in feature id order, with a `next` link (keyset paging);
    with `q`, the first `limit` matches, the exact feature id first."""
    if q is not None:
        return {"type": "FeatureCollection",
                "features": queries.search_addresses(session, q.strip(), limit), "links": []}
    features = queries.list_addresses(session, limit, after, status, include_retired)
    links = next_links(request, len(features), limit, features[-1]["id"] if features else None)
    return {"type": "FeatureCollection", "features": features, "links": links}


@router.get("/{feature_id}")
def get_address(feature_id: int, session: SessionDep, _: Reader) -> dict[str, Any]:
    """One address as a GeoJSON Feature, keyed by its IQGeo feature id."""
    feature = queries.get_address(session, feature_id)
    if feature is None:
        raise NotFound(f"address {feature_id} does not exist")
    return feature


@router.get("/{feature_id}/service-events")
def get_service_events(feature_id: int, session: SessionDep, _: Reader) -> list[dict[str, Any]]:
    """Every service event received for the address, in event-time order, with its outcome
    (applied, rejected with the reason)."""
    if queries.get_address(session, feature_id) is None:
        raise NotFound(f"address {feature_id} does not exist")
    return service_history(session, feature_id)


@router.get("/{feature_id}/installation")
def get_installation(feature_id: int, session: SessionDep, _: Reader) -> dict[str, Any]:
    """The installation record of the address (written at completion, never changed), and
    the earlier ones if the work was redone."""
    if queries.get_address(session, feature_id) is None:
        raise NotFound(f"address {feature_id} does not exist")
    records = installation_records(session, feature_id)
    if not records:
        raise NotFound(f"address {feature_id} has no installation record yet")
    return {"current": records[0], "earlier": records[1:]}
