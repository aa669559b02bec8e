"""All tables; importing this module registers them on `Base.metadata`."""

from gis.models.address import Address, Circuit
from gis.models.address_cell import AddressCell
from gis.models.api_key import ApiKey
from gis.models.area import Area
from gis.models.assurance import AssuranceException
from gis.models.audit import StatusTransition
from gis.models.base import Base
from gis.models.contract import CommercialEvent, Contract
from gis.models.isp_order import IspOrder
from gis.models.outbox import OutboxEvent
from gis.models.service import Service, ServiceEvent
from gis.models.settlement import SettlementReport
from gis.models.sync_run import DeferredIndex, QuarantinedFeature, SyncRun
from gis.models.webhook import WebhookDelivery, WebhookSubscription

__all__ = [
    "Address", "AddressCell", "ApiKey", "Area", "AssuranceException", "Base", "Circuit",
    "CommercialEvent", "Contract", "DeferredIndex", "IspOrder", "OutboxEvent",
    "QuarantinedFeature", "Service", "ServiceEvent", "SettlementReport", "StatusTransition",
    "SyncRun", "WebhookDelivery", "WebhookSubscription",
]
