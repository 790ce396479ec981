"""What an operation costs, known before it runs, and the budget it spends.

The cost is computed from the parsed document, the schema and the variables, before any
resolver runs (see docs/limits.md for worked examples):

- a field whose type is an object, an interface or a union, alone or in a list (a
  connection too), costs 1 times the multiplier of where it sits; scalar and enum fields,
  ``__typename`` included, cost 0. The introspection fields ``__schema`` and ``__type``
  cost 1 whatever they select: they read the schema in memory (and are off in production);
- the multiplier at the top is 1. Below a connection field (a type with ``edges`` and
  ``pageInfo``) it is multiplied by the page size, ``first`` (or ``last``), which must be
  given, 1 to ``MAX_PAGE_SIZE``, as a literal or a variable; the connection's own page
  lists, ``edges`` and ``nodes``, do not multiply again. Below a plain list of objects,
  which has no page size, it is multiplied by a bound (``W4R_COST_LIST_BOUND``, 10).
  Nested connections and lists therefore multiply. Below ``_entities`` (Apollo
  Federation) it is multiplied by the number of representations given, so each
  representation costs its selection;
- each mutation field costs ``W4R_COST_MUTATION_BASE`` (10) instead of 1, plus its
  selection; a subscription is costed once, when it starts;
- fragments, inline fragments and aliases count as what they select; fields that GraphQL
  merges (same response key, same field) count once; fields skipped by ``@skip`` or
  ``@include`` cost nothing; fragments on different types of a union or interface all count
  (an upper bound);
- every operation costs at least 1.

A connection without a page size is refused (``PAGE_SIZE_REQUIRED``), as is one over the
maximum (``PAGE_SIZE_TOO_LARGE``) or under 1 (``PAGE_SIZE_TOO_SMALL``), and so is an
operation over ``W4R_MAX_QUERY_COST`` (``QUERY_TOO_COSTLY``). Each distinct document is
analysed once (an LRU keyed by its text) into a plan; a request only evaluates the plan with
its variables, and a plan that uses no variables is evaluated once.

The :class:`OperationCost` extension then spends the cost from the caller's budget: an API
key's own, or else the client address's. Over budget, nothing executes: the endpoint answers
HTTP 429 with ``Retry-After`` and an error ``RATE_LIMITED``. The response's ``extensions``
report ``{"cost": {"requested", "limit", "remaining", "windowSeconds"}}``.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from graphql import (
    BooleanValueNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_leaf_type,
    is_list_type,
)
from graphql import (
    ExecutionResult as GraphQLExecutionResult,
)
from graphql.execution.values import get_variable_values
from starlette.requests import HTTPConnection
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType as StrawberryOperationType

from w4r.abuse.screening import client_identity
from w4r.platform.auth import Principal
from w4r.platform.ratelimit import Allowance, Budgets, Verdict
from w4r.schema.context import Context
from w4r.schema.pagination import MAX_PAGE_SIZE
from w4r.settings import Settings

logger = logging.getLogger(__name__)

PAGE_ARGUMENTS: Final = ("first", "last")
PAGE_LISTS: Final = frozenset({"edges", "nodes"})
INTROSPECTION_FIELDS: Final = frozenset({"__schema", "__type"})
ENTITIES_FIELD: Final = "_entities"
REPRESENTATIONS_ARGUMENT: Final = "representations"
API_KEY_BUCKET: Final = "graphql-cost:api-key"
ADDRESS_BUCKET: Final = "graphql-cost:address"

CompositeType = GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType


@dataclass(frozen=True, slots=True)
class CostRules:
    """The numbers the rules use (from settings; see the module docstring)."""

    list_bound: int = 10
    mutation_base: int = 10
    max_page_size: int = MAX_PAGE_SIZE

    @classmethod
    def from_settings(cls, settings: Settings) -> CostRules:
        return cls(list_bound=settings.cost_list_bound, mutation_base=settings.cost_mutation_base)


# --- the plan ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Condition:
    """``@include(if: value)`` (``include`` true) or ``@skip(if: value)``."""

    include: bool
    value: ValueNode

    def holds(self, variables: Mapping[str, Any]) -> bool:
        if isinstance(self.value, VariableNode):
            flag = bool(variables.get(self.value.name.value))
        else:
            flag = isinstance(self.value, BooleanValueNode) and self.value.value
        return flag is self.include


@dataclass(frozen=True, slots=True)
class PageSize:
    """A connection field's page arguments (``first``/``last``), as written."""

    arguments: tuple[tuple[str, ValueNode], ...]

    def values(self, variables: Mapping[str, Any]) -> list[tuple[str, int]]:
        found: list[tuple[str, int]] = []
        for name, value in self.arguments:
            if isinstance(value, VariableNode):
                number = variables.get(value.name.value)
                if isinstance(number, int):
                    found.append((name, number))
            elif isinstance(value, IntValueNode):
                found.append((name, int(value.value)))
        return found


@dataclass(frozen=True, slots=True)
class Representations:
    """The ``representations`` argument of ``_entities``, as written."""

    value: ValueNode | None

    def count(self, variables: Mapping[str, Any]) -> int:
        """How many there are; one value that is not a list coerces to a list of one."""
        if isinstance(self.value, VariableNode):
            given = variables.get(self.value.name.value)
            return len(given) if isinstance(given, list) else int(given is not None)
        if isinstance(self.value, ListValueNode):
            return len(self.value.values)
        return int(self.value is not None)


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One selection of a field that costs something, with what it selects.

    ``merge_key`` is what GraphQL merges fields by (response key and field): occurrences
    with the same key that are both included execute once.
    """

    merge_key: tuple[str, str, str]
    node: FieldNode
    weight: int
    fan_out: int | PageSize | Representations
    conditions: tuple[Condition, ...]
    children: tuple[Occurrence, ...]

    def is_included(self, variables: Mapping[str, Any]) -> bool:
        return all(condition.holds(variables) for condition in self.conditions)


@dataclass(frozen=True, slots=True)
class Costing:
    """The cost of one operation with given variables, or why it may not run."""

    cost: int
    errors: tuple[GraphQLError, ...] = ()


@dataclass(slots=True)
class OperationPlan:
    """An operation compiled for costing; evaluate it with each request's variables."""

    operation: OperationDefinitionNode
    occurrences: tuple[Occurrence, ...]
    rules: CostRules
    variables: frozenset[str]
    """The variables that page sizes, ``@skip`` and ``@include`` read."""
    _fixed: Costing | None = field(default=None)

    def evaluate(
        self, schema: GraphQLSchema, raw_variables: Mapping[str, Any] | None
    ) -> Costing | None:
        """The costing, or None when the variables do not coerce (execution refuses them
        with its own errors, before any resolver runs)."""
        if not self.variables:
            if self._fixed is None:
                self._fixed = _cost_of(self.occurrences, {}, self.rules)
            return self._fixed
        # Only the variables the plan reads are coerced: an import's rows are not.
        definitions = [
            definition
            for definition in self.operation.variable_definitions or ()
            if definition.variable.name.value in self.variables
        ]
        coerced = get_variable_values(schema, definitions, dict(raw_variables or {}))
        if isinstance(coerced, list):
            return None
        return _cost_of(self.occurrences, coerced.coerced, self.rules)


def _cost_of(
    occurrences: tuple[Occurrence, ...], variables: Mapping[str, Any], rules: CostRules
) -> Costing:
    errors: list[GraphQLError] = []
    total = _selection_cost(occurrences, 1, variables, rules, errors)
    return Costing(max(total, 1), tuple(errors))


def _selection_cost(
    occurrences: Iterable[Occurrence],
    multiplier: int,
    variables: Mapping[str, Any],
    rules: CostRules,
    errors: list[GraphQLError],
) -> int:
    merged: dict[tuple[str, str, str], list[Occurrence]] = {}
    for occurrence in occurrences:
        if occurrence.is_included(variables):
            merged.setdefault(occurrence.merge_key, []).append(occurrence)
    total = 0
    for group in merged.values():
        first = group[0]
        total += first.weight * multiplier
        fan_out = _fan_out(first, variables, rules, errors)
        if fan_out is None:
            continue
        children = (child for occurrence in group for child in occurrence.children)
        total += _selection_cost(children, multiplier * fan_out, variables, rules, errors)
    return total


def _fan_out(
    occurrence: Occurrence,
    variables: Mapping[str, Any],
    rules: CostRules,
    errors: list[GraphQLError],
) -> int | None:
    """What the field multiplies the cost below it by; None (and an error) when a
    connection's page size is missing or out of range."""
    if isinstance(occurrence.fan_out, int):
        return occurrence.fan_out
    if isinstance(occurrence.fan_out, Representations):
        return occurrence.fan_out.count(variables)
    name = occurrence.node.name.value
    sizes = occurrence.fan_out.values(variables)
    if not sizes:
        errors.append(
            _refusal(
                f"`{name}` is a connection: give `first` (1 to {rules.max_page_size}) to say "
                "how many nodes to fetch.",
                "PAGE_SIZE_REQUIRED",
                occurrence.node,
            )
        )
        return None
    for argument, size in sizes:
        if size > rules.max_page_size:
            errors.append(
                _refusal(
                    f"`{name}({argument}: {size})` asks for more than {rules.max_page_size} "
                    f"nodes; fetch pages of at most {rules.max_page_size} with `after`.",
                    "PAGE_SIZE_TOO_LARGE",
                    occurrence.node,
                )
            )
            return None
        if size < 1:
            errors.append(
                _refusal(
                    f"`{name}({argument}: {size})`: the page size must be 1 to "
                    f"{rules.max_page_size}.",
                    "PAGE_SIZE_TOO_SMALL",
                    occurrence.node,
                )
            )
            return None
    return max(size for _, size in sizes)


def _refusal(message: str, code: str, node: FieldNode | None = None) -> GraphQLError:
    return GraphQLError(message, nodes=node, extensions={"code": code})


# --- compiling a document ----------------------------------------------------------------


class _Compiler:
    """Turns one operation of a validated document into :class:`Occurrence` trees."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode, rules: CostRules) -> None:
        self.schema = schema
        self.rules = rules
        self.fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self.variables: set[str] = set()

    def operation(self, operation: OperationDefinitionNode) -> OperationPlan | None:
        root = self.schema.get_root_type(operation.operation)
        if root is None:
            return None
        weight = self.rules.mutation_base if operation.operation is OperationType.MUTATION else 1
        occurrences = tuple(self.selections(operation.selection_set, root, (), weight))
        return OperationPlan(operation, occurrences, self.rules, frozenset(self.variables))

    def selections(
        self,
        selection_set: SelectionSetNode,
        parent: CompositeType,
        conditions: tuple[Condition, ...],
        weight: int = 1,
    ) -> Iterable[Occurrence]:
        for selection in selection_set.selections:
            own = conditions + self.conditions_of(selection.directives or ())
            if isinstance(selection, FieldNode):
                occurrence = self.field(selection, parent, own, weight)
                if occurrence is not None:
                    yield occurrence
                continue
            if isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments[selection.name.value]
                type_name, inner = fragment.type_condition.name.value, fragment.selection_set
            else:
                assert isinstance(selection, InlineFragmentNode)
                condition = selection.type_condition
                type_name = parent.name if condition is None else condition.name.value
                inner = selection.selection_set
            fragment_type = self.schema.get_type(type_name)
            assert isinstance(fragment_type, CompositeType)
            yield from self.selections(inner, fragment_type, own, weight)

    def field(
        self,
        node: FieldNode,
        parent: CompositeType,
        conditions: tuple[Condition, ...],
        weight: int,
    ) -> Occurrence | None:
        name = node.name.value
        response_key = node.alias.value if node.alias else name
        merge_key = (response_key, parent.name, name)
        if name in INTROSPECTION_FIELDS:
            return Occurrence(merge_key, node, 1, 1, conditions, ())
        if name == "__typename" or isinstance(parent, GraphQLUnionType):
            return None
        definition: GraphQLField = parent.fields[name]
        named = get_named_type(definition.type)
        if is_leaf_type(named) or node.selection_set is None:
            return None
        assert isinstance(named, CompositeType)
        fan_out = self.fan_out(node, parent, definition, named)
        children = tuple(self.selections(node.selection_set, named, ()))
        return Occurrence(merge_key, node, weight, fan_out, conditions, children)

    def fan_out(
        self,
        node: FieldNode,
        parent: CompositeType,
        definition: GraphQLField,
        named: GraphQLNamedType,
    ) -> int | PageSize | Representations:
        if node.name.value == ENTITIES_FIELD and parent is self.schema.query_type:
            return self.representations(node)
        if is_connection(named):
            if not any(argument in definition.args for argument in PAGE_ARGUMENTS):
                return self.rules.max_page_size
            given = tuple(
                (argument.name.value, argument.value)
                for argument in node.arguments or ()
                if argument.name.value in PAGE_ARGUMENTS
            )
            self.variables.update(
                value.name.value for _, value in given if isinstance(value, VariableNode)
            )
            return PageSize(given)
        if is_connection(parent) and node.name.value in PAGE_LISTS:
            return 1  # the connection's page size already counts these
        if is_list_type(get_nullable_type(definition.type)):
            return self.rules.list_bound
        return 1

    def representations(self, node: FieldNode) -> Representations:
        """``_entities``: its selection runs once per representation."""
        written = next(
            (
                argument.value
                for argument in node.arguments or ()
                if argument.name.value == REPRESENTATIONS_ARGUMENT
            ),
            None,
        )
        if isinstance(written, VariableNode):
            self.variables.add(written.name.value)
        return Representations(written)

    def conditions_of(self, directives: Iterable[Any]) -> tuple[Condition, ...]:
        found: list[Condition] = []
        for directive in directives:
            if directive.name.value not in ("skip", "include"):
                continue
            value = next(arg.value for arg in directive.arguments if arg.name.value == "if")
            if isinstance(value, VariableNode):
                self.variables.add(value.name.value)
            found.append(Condition(directive.name.value == "include", value))
        return tuple(found)


def is_connection(named: GraphQLNamedType) -> bool:
    """A Relay connection: an object type with ``edges`` and ``pageInfo``."""
    return (
        isinstance(named, GraphQLObjectType)
        and "edges" in named.fields
        and "pageInfo" in named.fields
    )


@dataclass(frozen=True, slots=True)
class DocumentPlan:
    """Every operation of one document, by name (None for an anonymous operation)."""

    operations: Mapping[str | None, OperationPlan]

    def operation(self, name: str | None) -> OperationPlan | None:
        """The operation that runs for ``name``, as GraphQL picks it (None if ambiguous)."""
        if name is None and len(self.operations) == 1:
            return next(iter(self.operations.values()))
        return self.operations.get(name)


def plan_document(schema: GraphQLSchema, document: DocumentNode, rules: CostRules) -> DocumentPlan:
    """The plan of a validated document."""
    compiled: dict[str | None, OperationPlan] = {}
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            plan = _Compiler(schema, document, rules).operation(definition)
            if plan is not None:
                compiled[definition.name.value if definition.name else None] = plan
    return DocumentPlan(compiled)


class CostPlanner:
    """Plans by document text, least recently used first out (``maxsize`` None: no bound).

    One planner serves one schema: :func:`cost_extension` makes one per schema build.
    """

    def __init__(self, rules: CostRules, maxsize: int | None) -> None:
        self.rules = rules
        self.maxsize = maxsize
        self._plans: OrderedDict[str, DocumentPlan] = OrderedDict()

    def plan(self, schema: GraphQLSchema, text: str | None, document: DocumentNode) -> DocumentPlan:
        if text is None:
            return plan_document(schema, document, self.rules)
        plan = self._plans.get(text)
        if plan is not None:
            self._plans.move_to_end(text)
            return plan
        plan = plan_document(schema, document, self.rules)
        self._plans[text] = plan
        if self.maxsize is not None and len(self._plans) > self.maxsize:
            self._plans.popitem(last=False)
        return plan


# --- budgets -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Payer:
    """Whose budget an operation spends: an API key's, or else its client address's (an
    IPv4 address, or an IPv6 /64)."""

    bucket: str
    identity: str
    allowance: Allowance

    @classmethod
    def of(cls, context: Context) -> Payer:
        return cls.of_caller(context.principal, context.request, context.services.settings)

    @classmethod
    def of_caller(
        cls, principal: Principal, connection: HTTPConnection, settings: Settings
    ) -> Payer:
        api_key_id = principal.api_key_id
        if api_key_id is not None:
            allowance = Allowance(settings.api_key_budget_points, settings.api_key_budget_seconds)
            return cls(API_KEY_BUCKET, str(api_key_id), allowance)
        # Keyed as the public write limits key addresses: an IPv6 address counts as its /64.
        client = connection.client
        address = client_identity(client.host if client is not None else None)
        allowance = Allowance(settings.ip_budget_points, settings.ip_budget_seconds)
        return cls(ADDRESS_BUCKET, address, allowance)


def cost_report(cost: int, payer: Payer | None, verdict: Verdict | None) -> dict[str, Any]:
    report: dict[str, Any] = {"requested": cost}
    if payer is not None and verdict is not None:
        report |= {
            "limit": verdict.limit,
            "remaining": verdict.remaining,
            "windowSeconds": payer.allowance.seconds,
        }
    return report


def too_costly(cost: int, maximum: int) -> GraphQLError:
    return _refusal(
        f"The operation costs {cost:,} and at most {maximum:,} is allowed; ask for smaller "
        "pages (`first`) or fewer nested lists.",
        "QUERY_TOO_COSTLY",
    )


def rate_limited(verdict: Verdict, cost: int) -> GraphQLError:
    return GraphQLError(
        f"The budget of {verdict.limit:,} per window has {verdict.remaining:,} left and this "
        f"operation costs {cost:,}; retry in {verdict.retry_after_seconds} s.",
        extensions={"code": "RATE_LIMITED", "retryAfter": verdict.retry_after_seconds},
    )


class OperationCost(SchemaExtension):
    """Costs the operation after validation and spends it from the caller's budget, or
    refuses it before any resolver runs. ``request.state.retry_after_seconds`` tells the
    HTTP endpoint to answer 429."""

    def __init__(self, planner: CostPlanner, max_query_cost: int) -> None:
        self.planner = planner
        self.max_query_cost = max_query_cost
        self.report: dict[str, Any] | None = None

    async def on_execute(self) -> AsyncIterator[None]:
        errors = await self.admit()
        if errors:
            execution = self.execution_context
            if execution.operation_type is StrawberryOperationType.SUBSCRIPTION:
                # A subscription has no result to preset; an error here ends it unstarted.
                raise errors[0]
            execution.result = GraphQLExecutionResult(data=None, errors=list(errors))
        yield

    def get_results(self) -> dict[str, Any]:
        return {} if self.report is None else {"cost": self.report}

    async def admit(self) -> tuple[GraphQLError, ...]:
        """The errors that refuse the operation (none when it may run)."""
        execution = self.execution_context
        schema = execution.schema._schema
        assert execution.graphql_document is not None
        document_plan = self.planner.plan(schema, execution.query, execution.graphql_document)
        plan = document_plan.operation(execution.operation_name)
        costing = None if plan is None else plan.evaluate(schema, execution.variables)
        if costing is None:
            return ()  # graphql-core refuses the operation or its variables by itself
        if costing.errors:
            return costing.errors
        self.report = cost_report(costing.cost, None, None)
        context = execution.context
        if not isinstance(context, Context):
            # The schema executed directly, with no request: the rules hold, no budget does.
            if costing.cost > self.max_query_cost:
                return (too_costly(costing.cost, self.max_query_cost),)
            return ()
        payer = Payer.of(context)
        # A cost over the caller's whole budget could never be paid: refuse it as too costly.
        maximum = min(self.max_query_cost, payer.allowance.amount)
        if costing.cost > maximum:
            return (too_costly(costing.cost, maximum),)
        verdict = await self.spend(context.services.budgets, payer, costing.cost)
        self.report = cost_report(costing.cost, payer, verdict)
        if verdict is None or verdict.allowed:
            return ()
        context.request.state.retry_after_seconds = verdict.retry_after_seconds
        return (rate_limited(verdict, costing.cost),)

    @staticmethod
    async def spend(budgets: Budgets, payer: Payer, cost: int) -> Verdict | None:
        """The verdict, or None when the budget store does not answer: a store outage must
        not take the API down, so the operation runs unmetered and the failure is logged."""
        try:
            return await budgets.spend(payer.bucket, payer.identity, cost, payer.allowance)
        except Exception:
            logger.exception("the budget store failed; serving the operation unmetered")
            return None


def cost_extension(settings: Settings) -> Callable[[], OperationCost]:
    """A factory of :class:`OperationCost` instances that share one plan cache."""
    planner = CostPlanner(CostRules.from_settings(settings), settings.document_cache_size or None)

    def build() -> OperationCost:
        return OperationCost(planner, settings.max_query_cost)

    return build
