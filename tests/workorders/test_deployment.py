"""Deployment: an area into in_deployment moves its addresses and spawns their orders."""

import pytest
from sqlalchemy import event, func, select, text

from gis.errors import Conflict, TransitionNotAllowed
from gis.models import Area, OutboxEvent, StatusTransition
from gis.status import AreaStatus
from tests.seed import add_addresses, add_area, grid_box
from workorders.deployment import transition_area
from workorders.models import WorkOrder, WorkOrderTask
from workorders.schemas import TemplateSpec
from workorders.templates import create_template

DEPLOY = AreaStatus.in_deployment


def count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


def deploy(session, area_id, dry_run=False):
    return transition_area(session, area_id, DEPLOY, "planner", "phase 1", dry_run=dry_run)


def test_dry_run_and_real_run_agree_exactly(db_session):
    add_addresses(db_session, 300, building_every=10)  # 3 rows of 100
    db_session.execute(text("UPDATE addresses SET retired = true WHERE feature_id <= 5"))
    db_session.execute(text("UPDATE addresses SET status = 'connected' "
                            "WHERE feature_id BETWEEN 6 AND 8"))
    db_session.execute(text("UPDATE addresses SET status = 'surveyed' "
                            "WHERE feature_id BETWEEN 9 AND 50"))
    area = add_area(db_session, grid_box(0, 0, 99, 1))  # the first 200 addresses

    dry = deploy(db_session, area, dry_run=True)
    assert count(db_session, WorkOrder) == 0 and count(db_session, OutboxEvent) == 0
    real = deploy(db_session, area)

    assert dry.deployment == real.deployment
    counts = real.deployment
    assert counts.addresses_in_scope == 200
    assert counts.addresses_by_status == {"planned": 150, "surveyed": 42}
    assert counts.skipped == {"retired": 5, "already_deployed": 3, "open_work_order": 0}
    by_template = {t["template"]: t["work_orders"] for t in counts.work_orders_by_template}
    # building_every=10 marks n % 10 == 0, i.e. feature ids 1, 11, ... (1 and 5 are retired)
    assert by_template == {"ftth-mdu": 19, "ftth-sdu": 173}
    assert counts.work_orders == 192 and counts.tasks == 192 * 8 and counts.events == 384


def test_deployment_writes_orders_tasks_statuses_transitions_and_events(db_session):
    add_addresses(db_session, 20)
    area = add_area(db_session, grid_box(0, 0, 9, 0))  # addresses 1..10
    deploy(db_session, area)

    statuses = dict(db_session.execute(text(
        "SELECT feature_id, status FROM addresses ORDER BY feature_id")).all())
    assert {statuses[i] for i in range(1, 11)} == {"in_deployment"}
    assert {statuses[i] for i in range(11, 21)} == {"planned"}
    assert count(db_session, WorkOrder, WorkOrder.area_id == area) == 10
    assert count(db_session, WorkOrderTask) == 80
    assert count(db_session, StatusTransition, StatusTransition.entity_type == "address",
                 StatusTransition.to_status == "in_deployment",
                 StatusTransition.actor == "planner", StatusTransition.reason == "phase 1") == 10
    topics = db_session.execute(text(
        "SELECT topic, count(*) FROM outbox GROUP BY 1")).all()
    assert dict(topics) == {"address.status_changed": 10, "work_order.created": 10,
                            "area.status_changed": 1}
    first_two = db_session.execute(text(
        "SELECT topic FROM outbox WHERE key = 'address:1' ORDER BY id")).scalars().all()
    assert first_two == ["address.status_changed", "work_order.created"]
    assert db_session.get(Area, area).status == "in_deployment"
    assert count(db_session, StatusTransition, StatusTransition.entity_type == "area") == 1


def test_a_second_deployment_of_the_same_area_creates_nothing(db_session):
    add_addresses(db_session, 50)
    area = add_area(db_session, grid_box(0, 0, 49, 0))
    deploy(db_session, area)
    before = (count(db_session, WorkOrder), count(db_session, WorkOrderTask),
              count(db_session, OutboxEvent), count(db_session, StatusTransition))

    again = deploy(db_session, area)

    assert again.redeploy and again.deployment.work_orders == 0
    assert again.deployment.skipped["already_deployed"] == 50
    after = (count(db_session, WorkOrder), count(db_session, WorkOrderTask),
             count(db_session, OutboxEvent), count(db_session, StatusTransition))
    assert after == before


def test_redeployment_picks_up_addresses_imported_since(db_session):
    add_addresses(db_session, 10)
    area = add_area(db_session, grid_box(0, 0, 19, 0))
    deploy(db_session, area)
    add_addresses(db_session, 5, first_id=11)  # grid cells 0..4 of a new id range: same spots
    again = deploy(db_session, area)
    assert again.deployment.work_orders == 5
    assert count(db_session, WorkOrder) == 15


def test_overlapping_area_skips_addresses_that_already_have_an_open_order(db_session):
    add_addresses(db_session, 100)
    first = add_area(db_session, grid_box(0, 0, 59, 0))
    second = add_area(db_session, grid_box(40, 0, 99, 0))
    deploy(db_session, first)
    db_session.execute(text("UPDATE addresses SET status = 'surveyed' "
                            "WHERE feature_id BETWEEN 41 AND 60"))  # e.g. reset by hand

    outcome = deploy(db_session, second)

    assert outcome.deployment.skipped["open_work_order"] == 20
    assert outcome.deployment.work_orders == 40
    per_address = db_session.execute(text(
        "SELECT max(n) FROM (SELECT count(*) AS n FROM work_orders "
        "GROUP BY address_feature_id) s")).scalar()
    assert per_address == 1


def test_a_broken_template_rule_leaves_nothing_behind(db_session):
    add_addresses(db_session, 30, attributes={"units": "12"})
    db_session.execute(text("UPDATE addresses SET gis_attributes = '{\"units\": \"many\"}' "
                            "WHERE feature_id = 25"))
    spec = TemplateSpec.model_validate({
        "name": "Large block", "priority": 1,
        "rule": {"all": [{"attribute": "gis_attributes.units", "op": "gte", "value": 10}]},
        "tasks": [{"kind": "custom", "name": "Riser", "assignee": {"type": "crew",
                                                                   "id": "crew-1"}}]})
    create_template(db_session, "large-block", spec, "test")
    area = add_area(db_session, grid_box(0, 0, 29, 0))

    savepoint = db_session.begin_nested()
    with pytest.raises(Conflict, match="many"):
        deploy(db_session, area)
    savepoint.rollback()

    assert count(db_session, WorkOrder) == 0 and count(db_session, OutboxEvent) == 0
    assert db_session.get(Area, area).status == "surveyed"
    assert db_session.execute(text("SELECT DISTINCT status FROM addresses")).scalars().all() \
        == ["planned"]


def test_rules_choose_templates_in_priority_order(db_session):
    add_addresses(db_session, 10, attributes={"drop": "aerial"})
    db_session.execute(text("UPDATE addresses SET gis_attributes = '{\"drop\": \"duct\"}' "
                            "WHERE feature_id > 6"))
    spec = TemplateSpec.model_validate({
        "name": "Aerial drop", "priority": 5,
        "rule": {"all": [{"attribute": "gis_attributes.drop", "op": "in",
                          "value": ["aerial", "pole"]}]},
        "tasks": [{"kind": "drop_install", "name": "Pole to house",
                   "assignee": {"type": "contractor", "id": "contractor-9"}}]})
    create_template(db_session, "aerial", spec, "test")
    area = add_area(db_session, grid_box(0, 0, 9, 0))
    counts = deploy(db_session, area).deployment
    by_template = {t["template"]: t["work_orders"] for t in counts.work_orders_by_template}
    assert by_template == {"aerial": 6, "ftth-sdu": 4}
    assert counts.tasks == 6 * 1 + 4 * 8


def test_illegal_transition_lists_the_allowed_ones(db_session):
    area = add_area(db_session, grid_box(0, 0, 1, 1), status="planned")
    with pytest.raises(TransitionNotAllowed) as refused:
        transition_area(db_session, area, DEPLOY, "planner")
    assert refused.value.extensions["allowed"] == ["surveyed"]


def test_surveying_moves_planned_addresses(db_session):
    add_addresses(db_session, 10)
    area = add_area(db_session, grid_box(0, 0, 4, 0), status="planned")
    dry = transition_area(db_session, area, AreaStatus.surveyed, "planner", dry_run=True)
    real = transition_area(db_session, area, AreaStatus.surveyed, "planner")
    assert dry.surveyed_addresses == real.surveyed_addresses == 5
    assert db_session.execute(text("SELECT count(*) FROM addresses WHERE status = 'surveyed'")
                              ).scalar() == 5


def test_an_area_is_built_only_when_its_orders_are_done(db_session):
    add_addresses(db_session, 3)
    area = add_area(db_session, grid_box(0, 0, 2, 0))
    deploy(db_session, area)
    with pytest.raises(Conflict, match="3 open work order"):
        transition_area(db_session, area, AreaStatus.built, "planner")
    db_session.execute(text("UPDATE work_orders SET status = 'completed'"))
    assert transition_area(db_session, area, AreaStatus.built, "planner").to_status == "built"


def test_deploying_10_or_1000_addresses_issues_the_same_number_of_statements(db_session):
    add_addresses(db_session, 1010, columns=1010)
    small = add_area(db_session, grid_box(0, 0, 9, 0))
    large = add_area(db_session, grid_box(10, 0, 1009, 0))
    statements = []

    def counted(*_args):
        statements.append(1)

    connection = db_session.connection()
    event.listen(connection, "before_cursor_execute", counted)
    try:
        deploy(db_session, small)
        for_10, statements[:] = len(statements), []
        outcome = deploy(db_session, large)
        for_1000 = len(statements)
    finally:
        event.remove(connection, "before_cursor_execute", counted)
    assert outcome.deployment.work_orders == 1000
    assert for_10 == for_1000
