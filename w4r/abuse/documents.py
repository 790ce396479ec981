"""Trusted documents: GraphQL operations approved ahead of time, referred to by SHA-256.

A deployment stores them with ``w4r documents add``; a client sends
``{"documentId": "sha256:<hex>"}`` or the Automatic Persisted Queries extension
(``{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}}``) instead of
the text. A section may require them for anonymous writes, so that only operations its
sites really send can write. A document is immutable (its id is the hash of its text), so
each replica may keep the ones it has read in memory for ever, within a size bound.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from graphql import GraphQLError, parse
from sqlalchemy.ext.asyncio import AsyncSession

from w4r.abuse.models import TrustedDocument
from w4r.abuse.repository import TrustedDocumentRepository
from w4r.platform.errors import ProblemCode
from w4r.platform.validation import Problems

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
DOCUMENT_ID_PREFIX = "sha256:"
MAX_NAME_LENGTH = 200


def document_hash(document: str) -> str:
    """The SHA-256 (lower-case hex) of a document's UTF-8 text: its id."""
    return hashlib.sha256(document.encode()).hexdigest()


def parse_document_id(value: str) -> str | None:
    """The hex hash of ``sha256:<hex>`` (or of a bare hex hash), or None when malformed."""
    candidate = value.strip()
    if candidate.startswith(DOCUMENT_ID_PREFIX):
        candidate = candidate[len(DOCUMENT_ID_PREFIX) :]
    candidate = candidate.lower()
    return candidate if SHA256_HEX.match(candidate) else None


@dataclass(frozen=True, slots=True)
class DocumentDraft:
    name: str
    document: str


class DocumentCache:
    """The documents this replica has read, least recently used evicted first. Unknown ids
    are not remembered: a document added a moment ago is found at once."""

    def __init__(self, max_entries: int) -> None:
        self._max_entries = max_entries
        self._documents: OrderedDict[str, str] = OrderedDict()

    async def text_of(self, session: AsyncSession, document_id: str) -> str | None:
        cached = self._documents.get(document_id)
        if cached is not None:
            self._documents.move_to_end(document_id)
            return cached
        found = await TrustedDocumentRepository(session).text_of(document_id)
        if found is not None and self._max_entries > 0:
            self._documents[document_id] = found
            while len(self._documents) > self._max_entries:
                self._documents.popitem(last=False)
        return found


class TrustedDocumentService:
    def __init__(self, session: AsyncSession) -> None:
        self._documents = TrustedDocumentRepository(session)

    async def add(self, drafts: Sequence[DocumentDraft]) -> list[tuple[str, str, bool]]:
        """Store documents that parse as GraphQL; returns ``(id, name, is_new)`` of each.
        Nothing is stored when any of them is refused."""
        problems = Problems()
        rows: list[tuple[str, str, str]] = []
        for index, draft in enumerate(drafts):
            name = problems.required_text(draft.name, f"{index}.name", max_length=MAX_NAME_LENGTH)
            if not draft.document.strip():
                problems.add(f"{index}.document", ProblemCode.REQUIRED, f"{name}: it is empty.")
                continue
            try:
                parse(draft.document)
            except GraphQLError as error:
                problems.add(f"{index}.document", ProblemCode.INVALID, f"{name}: {error.message}")
                continue
            rows.append((document_hash(draft.document), name, draft.document))
        if not drafts:
            problems.add(None, ProblemCode.REQUIRED, "Give at least one document.")
        problems.raise_any()
        new = await self._documents.add(rows)
        return [(document_id, name, document_id in new) for document_id, name, _ in rows]

    async def listing(self) -> list[TrustedDocument]:
        return await self._documents.listing()
