"""Template selection compiled to one SQL CASE, so choosing templates stays set-based."""

from dataclasses import dataclass, field
from typing import Any

from workorders.schemas import NUMERIC_OPERATORS, Condition, Rule


@dataclass
class CompiledChoice:
    """`sql` is a CASE over an address row aliased `a`; `params` are its bound values."""

    sql: str
    params: dict[str, Any] = field(default_factory=dict)


def _attribute_sql(attribute: str, name: str, params: dict[str, Any]) -> str:
    if attribute.startswith("gis_attributes."):
        params[name] = attribute.removeprefix("gis_attributes.")
        return f"(a.gis_attributes ->> :{name})"
    return f"a.{attribute}"  # one of RULE_COLUMNS, checked by the schema


def _condition_sql(condition: Condition, name: str, params: dict[str, Any]) -> str:
    column = _attribute_sql(condition.attribute, f"{name}_key", params)
    op, value = condition.op, condition.value
    if op == "present":
        return f"coalesce({column}, '') <> ''"
    if op == "absent":
        return f"coalesce({column}, '') = ''"
    if op in NUMERIC_OPERATORS:
        params[name] = value
        # A non-numeric attribute makes this cast fail, and the whole deployment with it.
        return f"CAST(nullif({column}, '') AS numeric) {NUMERIC_OPERATORS[op]} :{name}"
    if op in ("in", "not_in"):
        params[name] = [str(v) for v in value] if isinstance(value, list) else []
        test = f"{column} = ANY(CAST(:{name} AS text[]))"
        return test if op == "in" else f"NOT coalesce({test}, false)"
    params[name] = str(value)
    return f"{column} = :{name}" if op == "eq" else f"{column} IS DISTINCT FROM :{name}"


def _rule_sql(rule: Rule, prefix: str, params: dict[str, Any]) -> str:
    parts = [_condition_sql(c, f"{prefix}_{i}", params) for i, c in enumerate(rule.all)]
    return " AND ".join(f"coalesce({part}, false)" for part in parts)


def compile_choice(ruled: list[tuple[int, Rule]], default_id: int) -> CompiledChoice:
    """CASE WHEN <rule 1> THEN <template 1> ... ELSE <default> END, rules in priority order."""
    params: dict[str, Any] = {"template_default": default_id}
    branches = []
    for index, (template_id, rule) in enumerate(ruled):
        params[f"template_{index}"] = template_id
        condition = _rule_sql(rule, f"rule_{index}", params)
        branches.append(f"WHEN {condition} THEN CAST(:template_{index} AS bigint)")
    if not branches:
        return CompiledChoice("CAST(:template_default AS bigint)", params)
    body = " ".join(branches)
    return CompiledChoice(f"(CASE {body} ELSE CAST(:template_default AS bigint) END)",
                          params)
