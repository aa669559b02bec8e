"""Status values, spelled exactly as in DESIGN.md."""

from enum import StrEnum


class AddressStatus(StrEnum):
    """Physical status of an address, owned by the network operator."""

    planned = "planned"
    surveyed = "surveyed"
    in_deployment = "in_deployment"
    ready_for_service = "ready_for_service"
    connected = "connected"
    retired = "retired"


class SyncRunState(StrEnum):
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    interrupted = "interrupted"  # its process died; found and marked by the next run


class Role(StrEnum):
    admin = "admin"
    planner = "planner"
    bss = "bss"
    isp = "isp"
    technician = "technician"
