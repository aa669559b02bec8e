"""CQL2 filters (OGC API Features Part 3) as parameterised SQL.

pygeofilter parses CQL2 text and JSON into a syntax tree; this walks the tree into a WHERE
clause. Properties come from the collection's own list (anything else is refused) and every
literal is a bound parameter: the filter's text never reaches the SQL. (pygeofilter's own SQL
backend writes literals into the SQL, so it is not used.)

Supported: comparisons, AND/OR/NOT, LIKE, CASEI, BETWEEN, IN, IS NULL, and the spatial
predicates (S_INTERSECTS, S_WITHIN, ...) against GeoJSON, WKT or BBOX literals.
"""

import json
from datetime import date, datetime
from typing import Any

from pygeofilter import ast, values
from pygeofilter.backends.evaluator import Evaluator, handle
from pygeofilter.parsers.cql2_json import parse as parse_json
from pygeofilter.parsers.cql2_text import parse as parse_text

from gis.errors import InvalidInput

LANGUAGES = ("cql2-text", "cql2-json")
_COMPARISON = {ast.ComparisonOp.EQ: "=", ast.ComparisonOp.NE: "<>", ast.ComparisonOp.LT: "<",
               ast.ComparisonOp.LE: "<=", ast.ComparisonOp.GT: ">", ast.ComparisonOp.GE: ">="}
_SPATIAL = {
    ast.SpatialComparisonOp.INTERSECTS: "ST_Intersects",
    ast.SpatialComparisonOp.DISJOINT: "ST_Disjoint",
    ast.SpatialComparisonOp.CONTAINS: "ST_Contains",
    ast.SpatialComparisonOp.WITHIN: "ST_Within",
    ast.SpatialComparisonOp.TOUCHES: "ST_Touches",
    ast.SpatialComparisonOp.CROSSES: "ST_Crosses",
    ast.SpatialComparisonOp.OVERLAPS: "ST_Overlaps",
    ast.SpatialComparisonOp.EQUALS: "ST_Equals",
}


class _ToSql(Evaluator):  # type: ignore[misc]
    def __init__(self, columns: dict[str, str], params: dict[str, Any]) -> None:
        self.columns = columns
        self.params = params

    def _bind(self, value: Any) -> str:
        name = f"cql{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    @handle(ast.Not)
    def not_(self, node: ast.Not, sub: str) -> str:
        return f"NOT ({sub})"

    @handle(ast.And, ast.Or)
    def combination(self, node: ast.Combination, lhs: str, rhs: str) -> str:
        return f"({lhs} {node.op.value} {rhs})"

    @handle(ast.Comparison, subclasses=True)
    def comparison(self, node: ast.Comparison, lhs: str, rhs: str) -> str:
        return f"({lhs} {_COMPARISON[node.op]} {rhs})"

    @handle(ast.Between)
    def between(self, node: ast.Between, lhs: str, low: str, high: str) -> str:
        return f"({lhs} {'NOT ' if node.not_ else ''}BETWEEN {low} AND {high})"

    @handle(ast.Like)
    def like(self, node: ast.Like, lhs: str) -> str:
        # CQL2's wildcards are SQL's (% and _, escaped by a backslash); CASEI() arrives as
        # lower() on both sides.
        pattern = (self._bind(node.pattern) if isinstance(node.pattern, str)
                   else self.evaluate(node.pattern, False))
        operator = "ILIKE" if node.nocase else "LIKE"
        return (f"(CAST({lhs} AS text) {'NOT ' if node.not_ else ''}{operator} {pattern} "
                f"ESCAPE '\\')")

    @handle(ast.Function)
    def function(self, node: ast.Function, *arguments: str) -> str:
        name = node.name.lower()
        if name == "lower" and len(arguments) == 1:
            return f"lower(CAST({arguments[0]} AS text))"
        if name == "bbox" and len(arguments) in (4, 6):  # BBOX(...) of CQL2 text
            corners = arguments[:2] + arguments[-3:-1] if len(arguments) == 6 else arguments
            return f"ST_MakeEnvelope({', '.join(corners)}, 4326)"
        return self.adopt(node)

    @handle(ast.In)
    def in_(self, node: ast.In, lhs: str, *options: str) -> str:
        return f"({lhs} {'NOT ' if node.not_ else ''}IN ({', '.join(options)}))"

    @handle(ast.IsNull)
    def null(self, node: ast.IsNull, lhs: str) -> str:
        return f"({lhs} IS {'NOT ' if node.not_ else ''}NULL)"

    @handle(ast.SpatialComparisonPredicate, subclasses=True)
    def spatial(self, node: ast.SpatialComparisonPredicate, lhs: str, rhs: str) -> str:
        return f"{_SPATIAL[node.op]}({lhs}, {rhs})"

    @handle(ast.BBox)
    def bbox(self, node: ast.BBox, lhs: str) -> str:
        box = [self._bind(float(v)) for v in (node.minx, node.miny, node.maxx, node.maxy)]
        return f"ST_Intersects({lhs}, ST_MakeEnvelope({', '.join(box)}, 4326))"

    @handle(ast.Attribute)
    def attribute(self, node: ast.Attribute) -> str:
        if node.name not in self.columns:
            raise InvalidInput(f"filter: unknown property {node.name!r}; queryable: "
                               + ", ".join(sorted(self.columns)))
        return self.columns[node.name]

    @handle(str, int, float, bool, datetime, date)
    def literal(self, node: Any) -> str:
        return self._bind(node)

    @handle(values.Geometry)
    def geometry(self, node: values.Geometry) -> str:
        return f"ST_SetSRID(ST_GeomFromGeoJSON({self._bind(json.dumps(node.geometry))}), 4326)"

    @handle(values.Envelope)
    def envelope(self, node: values.Envelope) -> str:
        box = [self._bind(float(v)) for v in (node.x1, node.y1, node.x2, node.y2)]
        return f"ST_MakeEnvelope({', '.join(box)}, 4326)"

    def adopt(self, node: Any, *sub_args: Any) -> str:
        raise InvalidInput(f"filter: {type(node).__name__} is not supported here (comparisons, "
                           "LIKE, BETWEEN, IN, IS NULL and spatial predicates are)")


def cql2_where(expression: str, language: str, columns: dict[str, str],
               params: dict[str, Any]) -> str:
    """A WHERE condition for a CQL2 filter over `columns` (property -> SQL expression);
    its literals are added to `params`. InvalidInput says what is wrong with the filter."""
    if language not in LANGUAGES:
        raise InvalidInput(f"filter-lang {language!r} is not supported; one of "
                           + ", ".join(LANGUAGES))
    try:
        tree = parse_text(expression) if language == "cql2-text" else parse_json(expression)
    except Exception as error:  # the parsers raise many kinds; all mean a bad filter
        raise InvalidInput(f"filter is not valid {language}: {error}") from None
    sql: str = _ToSql(columns, params).evaluate(tree)
    return sql
