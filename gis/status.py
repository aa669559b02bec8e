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


class AreaStatus(StrEnum):
    """A project area's life: the planner moves it forward one step at a time."""

    planned = "planned"
    surveyed = "surveyed"
    in_deployment = "in_deployment"
    built = "built"


class WorkOrderStatus(StrEnum):
    open = "open"
    scheduled = "scheduled"
    in_progress = "in_progress"
    completed = "completed"
    cancelled = "cancelled"


# An address may have at most one work order in these states (a partial unique index).
OPEN_WORK_ORDER_STATUSES = (WorkOrderStatus.open, WorkOrderStatus.scheduled,
                            WorkOrderStatus.in_progress)


class TaskStatus(StrEnum):
    open = "open"
    in_progress = "in_progress"
    done = "done"
    skipped = "skipped"  # with a reason, where the template allows it


class ServiceStatus(StrEnum):
    """Service state per ISP at an address, owned by that ISP (reported by the BSS/NMS)."""

    ordered = "ordered"
    active = "active"
    suspended = "suspended"
    ceased = "ceased"
