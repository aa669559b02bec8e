"""The address searches are answered from their indexes, whatever the table's size."""

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.queries import addresses
from gis.queries.serviceability import AddressSearch, _page_sql


def plan(session: Session, query: str, params: dict[str, object]) -> str:
    session.execute(text("SET LOCAL enable_seqscan = off"))  # as on a large table
    rows = session.execute(text("EXPLAIN " + query), params)
    return "\n".join(str(r[0]) for r in rows)


def test_the_isp_postcode_search_uses_the_postcode_index(db_session):
    search = AddressSearch(postcode="CB23 8QI")
    query = _page_sql(search)
    assert "ix_addresses_postcode" in plan(db_session, query, {**search.params, "isp": None})


def test_the_planner_search_uses_the_postcode_index(db_session):
    params = {"fid": 0, "q": "CB23 8QI", "prefix": "cb23 8qi%", "limit": 10}
    assert "ix_addresses_postcode" in plan(db_session, addresses._SEARCH, params)
