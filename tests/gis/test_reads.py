"""Reads on the event loop: one transaction each, scoped to an ISP only when asked."""

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.reads import PooledReads, psycopg_style
from tests.seed import add_addresses

WHO = "SELECT current_user, current_setting('fibersync.isp', true)"


def test_placeholders_become_psycopg_style_and_casts_stay():
    assert psycopg_style("SELECT :a::text, CAST(:isp AS text) WHERE x LIKE '1%'") == (
        "SELECT %(a)s::text, CAST(%(isp)s AS text) WHERE x LIKE '1%%'")


@pytest.mark.usefixtures("committed")
def test_each_read_is_scoped_to_its_isp_and_the_scope_ends_with_it(database_url, engine):
    with Session(engine) as session:
        add_addresses(session, 2, status="ready_for_service")
        session.execute(text("""
            INSERT INTO services (address_feature_id, isp_id, status, status_since,
                                  last_event_time)
            VALUES (1, 'isp-1', 'active', now(), now()), (2, 'isp-2', 'active', now(), now())
        """))
        session.commit()

    async def reads_in_turn():
        reads = PooledReads(database_url, max_size=1)  # one connection: the same one reused
        await reads.open()
        try:
            return [await reads.fetch_row(WHO, {}, "isp-2"),
                    await reads.fetch_row("SELECT array_agg(isp_id) FROM services", {},
                                          "isp-2"),
                    await reads.fetch_row(WHO, {}),
                    await reads.fetch_row("SELECT count(*) FROM services", {})]
        finally:
            await reads.close()

    scoped, visible, after, everything = asyncio.run(reads_in_turn())
    assert scoped == ("fibersync_isp", "isp-2")
    assert visible == (["isp-2"],)
    assert after[0] != "fibersync_isp" and not after[1]
    assert everything == (2,)
