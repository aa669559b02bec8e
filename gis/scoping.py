"""Database-enforced ISP scoping: row-level security (migration 0006) keyed by a setting."""

import contextlib

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

# set_config('role', ..., true) is SET LOCAL ROLE; one round trip for both.
ENTER_ISP_SCOPE = ("SELECT set_config('role', 'fibersync_isp', true), "
                   "set_config('fibersync.isp', :isp, true)")


def enter_isp_scope(session: Session, isp_id: str) -> None:
    """From here to the end of the transaction, the session sees only this ISP's rows of
    the ISP-owned tables (services, events, orders, webhooks)."""
    session.execute(text(ENTER_ISP_SCOPE), {"isp": isp_id})


def leave_isp_scope(session: Session) -> None:
    # The transaction's end undoes both (requests end theirs); this is for a transaction
    # that goes on, as a test's does.
    # An aborted transaction is rolled back, which resets both anyway.
    with contextlib.suppress(DBAPIError):
        session.execute(text("SELECT set_config('role', 'none', true), "
                             "set_config('fibersync.isp', '', true)"))
