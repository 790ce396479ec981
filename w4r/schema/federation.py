"""w4r as an Apollo Federation 2 subgraph: its entities, ``_entities`` and ``_service``.

A gateway composes w4r with other subgraphs (docs/federation.md). Four types are entities,
each found by any one of its keys: ``Campaign`` (``id``, ``year``), ``Case`` (``id``,
``slug``), ``Section`` (``id``, ``code``) and ``Event`` (``id``). Every key is a value that
never changes: ids, a campaign's year, a case's slug and a section's code are immutable.

``Query._entities`` turns the gateway's representations into objects. It refuses the whole
call, before any lookup, when there are more than ``W4R_FEDERATION_MAX_REPRESENTATIONS`` or
when any representation is malformed: not an object, a ``__typename`` that is not an
entity, not exactly one key, or a key value its scalar does not accept. Each representation
then resolves through its type's ``resolve_reference``, which batches through the request's
loaders and shows the caller exactly what the direct query would (drafts to IS staff only,
events of the request's section only, the section itself or, to IS staff, any section);
anything else resolves to null, like a missing one. Fields of an entity keep their rules of
the permission matrix, since they are the same fields.

``Query._service`` answers the subgraph SDL, the same text ``w4r schema export`` writes. It
shows the whole schema, so it is refused wherever introspection is (production).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final

import strawberry
from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    ValidationRule,
    get_named_type,
)
from strawberry.federation.schema import FederationAny
from strawberry.federation.schema_directives import Key
from strawberry.printer import print_schema
from strawberry.schema.base import BaseSchema
from strawberry.types.base import get_object_definition

from w4r.schema.campaigns.types import CampaignNode
from w4r.schema.cases.types import CaseNode
from w4r.schema.context import Info
from w4r.schema.errors import bad_user_input
from w4r.schema.events.types import EventNode
from w4r.schema.tenants.types import SectionNode

FEDERATION_VERSION: Final = "2.0"
"""The Federation version the SDL links to: the oldest that has all this subgraph uses
(``@key``), so any Federation 2 gateway or router composes it."""

ENTITY_TYPES: Final = (CampaignNode, CaseNode, EventNode, SectionNode)
SUBGRAPH_SDL_FIELD: Final = "_service"

Entity = Annotated[
    CampaignNode | CaseNode | EventNode | SectionNode,
    strawberry.union("_Entity", description="The types other subgraphs may reference by key."),
]


@dataclass(frozen=True, slots=True)
class EntityType:
    """One entity: its GraphQL name, its key fields and how it resolves a reference."""

    name: str
    keys: tuple[str, ...]
    resolve: Callable[..., Awaitable[Any]]
    """The type's ``resolve_reference``: the object, or None when the caller may not see
    it or it does not exist."""


def _entity_type(origin: type) -> EntityType:
    definition = get_object_definition(origin, strict=True)
    keys = tuple(
        str(directive.fields)
        for directive in definition.directives or ()
        if isinstance(directive, Key)
    )
    return EntityType(definition.name, keys, origin.resolve_reference)  # type: ignore[attr-defined]


ENTITIES: Final[Mapping[str, EntityType]] = {
    entity.name: entity for entity in map(_entity_type, ENTITY_TYPES)
}


@dataclass(frozen=True, slots=True)
class Reference:
    """A checked representation: which entity, by which key, with the parsed key value."""

    entity: EntityType
    key: str
    value: Any

    async def resolve(self, info: Info) -> Any:
        return await self.entity.resolve(info=info, **{self.key: self.value})


def too_many_representations(count: int, maximum: int) -> GraphQLError:
    return GraphQLError(
        f"`_entities` resolves at most {maximum:,} representations per request and got "
        f"{count:,}; split them over several requests.",
        extensions={"code": "TOO_MANY_REPRESENTATIONS", "maxRepresentations": maximum},
    )


def parse_representations(
    schema: GraphQLSchema, representations: Sequence[object], maximum: int
) -> list[Reference]:
    """Every representation checked and parsed, or a top-level ``BAD_USER_INPUT`` error
    (``TOO_MANY_REPRESENTATIONS`` over ``maximum``) naming the first bad one."""
    if len(representations) > maximum:
        raise too_many_representations(len(representations), maximum)
    return [
        _reference(schema, index, representation)
        for index, representation in enumerate(representations)
    ]


def _reference(schema: GraphQLSchema, index: int, representation: object) -> Reference:
    def refusal(problem: str) -> GraphQLError:
        return bad_user_input(f"`_entities`: representations[{index}]: {problem}")

    entities = ", ".join(sorted(ENTITIES))
    if not isinstance(representation, dict):
        raise refusal("not an object; give `__typename` and one key field.")
    type_name = representation.get("__typename")
    if type_name is None:
        raise refusal(f"no `__typename`; the entities are {entities}.")
    entity = ENTITIES.get(type_name) if isinstance(type_name, str) else None
    if entity is None:
        raise refusal(
            f"`__typename` {str(type_name)[:100]!r} is not an entity of this subgraph; the "
            f"entities are {entities}."
        )
    given = sorted(name for name in representation if name != "__typename")
    if len(given) != 1 or given[0] not in entity.keys:
        keys = " or ".join(f"`{key}`" for key in entity.keys)
        got = ", ".join(given)[:200] or "none"
        raise refusal(f"give exactly one key of {entity.name}: {keys} (got {got}).")
    (key,) = given
    raw = representation[key]
    if raw is None:
        raise refusal(f"`{key}` is null.")
    object_type = schema.get_type(entity.name)
    assert isinstance(object_type, GraphQLObjectType)
    scalar = get_named_type(object_type.fields[key].type)
    assert isinstance(scalar, GraphQLScalarType)
    try:
        value = scalar.parse_value(raw)
    except (GraphQLError, ValueError, TypeError) as error:
        raise refusal(f"`{key}` is not a valid {scalar.name}.") from error
    return Reference(entity, key, value)


@strawberry.type(name="_Service", description="This subgraph, for composition.")
class SubgraphService:
    sdl: str = strawberry.field(description="The subgraph SDL (`w4r schema export`).")


def subgraph_sdl(schema: BaseSchema) -> str:
    """The SDL composition needs: the schema with its federation ``@link`` and ``@key``s."""
    return print_schema(schema)


@strawberry.type
class FederationQueries:
    @strawberry.field(
        name="_entities",
        description="Entities by their representations (Apollo Federation): each resolves "
        "as its own query would for this caller, else to null.",
    )
    async def federation_entities(
        self, info: Info, representations: list[FederationAny]
    ) -> list[Entity | None]:
        maximum = info.context.services.settings.federation_max_representations
        references = parse_representations(info.schema._schema, representations, maximum)
        # Concurrently, so that each type's loader batches its keys into one statement.
        found = await asyncio.gather(*(reference.resolve(info) for reference in references))
        return list(found)

    @strawberry.field(name="_service", description="This subgraph's SDL (Apollo Federation).")
    def federation_service(self, info: Info) -> SubgraphService:
        return SubgraphService(sdl=subgraph_sdl(info.schema))


class NoSubgraphSdlRule(ValidationRule):
    """Refuses ``_service`` where introspection is off: its SDL is the whole schema."""

    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        parent = self.context.get_parent_type()
        query = self.context.schema.query_type
        if node.name.value == SUBGRAPH_SDL_FIELD and query is not None and parent is query:
            self.report_error(
                GraphQLError(
                    "The subgraph SDL (`_service`) is off, like introspection; compose from "
                    "the file `w4r schema export` writes.",
                    node,
                )
            )
