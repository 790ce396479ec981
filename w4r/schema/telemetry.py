"""Which operation a request runs, for metrics and logs, known once it is validated.

One extension hook per operation, never per field: :class:`OperationTelemetry` runs when
execution starts, which strawberry reaches only with a parsed and validated document and an
operation name that the document defines. So the name it reports is one the schema accepted,
not any string a caller put in ``operationName`` (the metrics bound it further).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from graphql import DocumentNode, OperationDefinitionNode
from strawberry.extensions import SchemaExtension

from w4r.platform.logging import bind_operation
from w4r.schema.context import Context


@dataclass(frozen=True, slots=True)
class ExecutedOperation:
    """Set on ``request.state.operation`` for the HTTP endpoint's metrics."""

    operation_type: str
    name: str | None


def operation_name(document: DocumentNode | None, requested: str | None) -> str | None:
    """The name of the operation that runs: the requested one if the document defines it,
    else the document's only operation's name (None when anonymous)."""
    if document is None:
        return None
    operations = [
        definition
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
    ]
    for operation in operations:
        name = operation.name.value if operation.name is not None else None
        if requested is None or name == requested:
            return name
    return None


class OperationTelemetry(SchemaExtension):
    """Tells the request (metrics) and the log context which operation runs."""

    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        name = operation_name(execution.graphql_document, execution.operation_name)
        bind_operation(name)
        context = execution.context
        if isinstance(context, Context):
            context.request.state.operation = ExecutedOperation(
                execution.operation_type.value, name
            )
        yield
