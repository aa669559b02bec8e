"""ISP orders at an address (open access): a service ordered where the line is built, a
connection work order where only the building is, a reasoned refusal elsewhere.

Idempotent by the ISP's order reference; refusals are kept (the data-quality metric counts
them by code)."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gis.models import Address, IspOrder, OutboxEvent
from gis.status import AddressStatus
from services.events import IncomingEvent, record_events
from workorders.orders import create_connection_order


@dataclass(frozen=True)
class OrderInput:
    isp: str
    order_ref: str
    address: int
    product: str
    subscriber: str | None


@dataclass(frozen=True)
class OrderOutcome:
    order: IspOrder
    replayed: bool = False

    def as_dict(self) -> dict[str, Any]:
        o = self.order
        return {"order_ref": o.order_ref, "address": o.address_feature_id,
                "product": o.product, "outcome": o.outcome, "refusal": o.refusal,
                "reason": o.reason, "work_order_id": o.work_order_id,
                "created_at": o.created_at, "replayed": self.replayed}


def _refuse(session: Session, order: OrderInput, code: str, reason: str) -> OrderOutcome:
    row = IspOrder(isp_id=order.isp, order_ref=order.order_ref,
                   address_feature_id=order.address, product=order.product,
                   subscriber=order.subscriber, outcome="refused", refusal=code,
                   reason=reason)
    session.add(row)
    session.flush()
    return OrderOutcome(row)


def _line(session: Session, feature_id: int, isp: str) -> tuple[bool, bool]:
    """(taken by anyone, a live service of this ISP)."""
    row = session.execute(text("""
        SELECT EXISTS (SELECT 1 FROM address_lines WHERE address_feature_id = :f),
               EXISTS (SELECT 1 FROM services WHERE address_feature_id = :f
                       AND isp_id = :isp AND status <> 'ceased')"""),
                          {"f": feature_id, "isp": isp}).one()
    return bool(row[0]), bool(row[1])


def place_order(session: Session, order: OrderInput, products: dict[str, str]) -> OrderOutcome:
    """The caller commits, refusals included."""
    earlier = session.scalars(select(IspOrder).where(
        IspOrder.isp_id == order.isp, IspOrder.order_ref == order.order_ref,
        IspOrder.outcome != "refused")).one_or_none()
    if earlier is not None:
        if (earlier.address_feature_id, earlier.product) == (order.address, order.product):
            return OrderOutcome(earlier, replayed=True)
        return _refuse(session, order, "duplicate", f"order {order.order_ref} already exists "
                       "for another address or product")
    if order.product not in products:
        return _refuse(session, order, "unknown_product", f"unknown product "
                       f"{order.product!r}; one of {', '.join(products)}")
    address = session.get(Address, order.address)
    if address is None:
        return _refuse(session, order, "unknown_address",
                       f"address {order.address} is unknown")
    built = (AddressStatus.ready_for_service.value, AddressStatus.connected.value)
    if address.retired or address.status not in built:
        return _refuse(session, order, "not_serviceable", f"address {order.address} is not "
                       f"serviceable: it is {'retired' if address.retired else address.status}")
    taken, ours = _line(session, order.address, order.isp)
    if ours:
        return _refuse(session, order, "duplicate", "you already have a service here")
    if taken:
        return _refuse(session, order, "line_taken", "the line at this address is taken")
    return _accept(session, order, address, products[order.product])


def _accept(session: Session, order: OrderInput, address: Address,
            speed_profile: str) -> OrderOutcome:
    record_events(session, [IncomingEvent(
        payload={"order_ref": order.order_ref}, event_id=f"order:{order.isp}:{order.order_ref}",
        event_type="ordered", event_time=datetime.now(UTC), address=address.feature_id,
        isp=order.isp, attributes={"subscriber": order.subscriber, "product": order.product,
                                   "speed_profile": speed_profile, "ont_serial": None})])
    row = IspOrder(isp_id=order.isp, order_ref=order.order_ref,
                   address_feature_id=address.feature_id, product=order.product,
                   subscriber=order.subscriber, outcome="ordered")
    if address.status == AddressStatus.connected.value:
        session.add(OutboxEvent(topic="provisioning.requested",
                                key=f"address:{address.feature_id}", payload={
            "feature_id": address.feature_id, "isp": order.isp,
            "order_ref": order.order_ref, "circuit_id": address.circuit_id,
            "circuit_name": address.circuit_name, "ont_serial": address.ont_serial,
            "service": {"product": order.product, "speed_profile": speed_profile}}))
    else:  # built to the building, not yet connected: a technician connects it
        row.outcome = "work_order"
        row.work_order_id = create_connection_order(session, address.feature_id,
                                                    f"isp {order.isp}",
                                                    f"order {order.order_ref}")
    session.add(row)
    session.flush()
    return OrderOutcome(row)
