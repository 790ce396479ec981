"""All SQL of the ledger: actions, idempotency keys, import batches, tallies, and the rollup
and notification writes that go with every ledger write."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from w4r.actions.models import Action, IdempotencyKey, Tally, TallyLine
from w4r.platform.database import SerialSession
from w4r.platform.grouping import group_by
from w4r.totals.models import ROLLUP_SLOTS
from w4r.webhooks.models import MILESTONE_CHECK_SLOTS

NOTIFY_CHANNEL = "w4r_totals"
ERASED_REQUEST_HASH = "erased"
"""The content hash of a key whose request held personal data that was erased."""


@dataclass(frozen=True, slots=True)
class RollupKey:
    campaign_id: UUID
    case_id: UUID
    action_type: str
    channel: str
    verification: str
    day: date


@dataclass(frozen=True, slots=True)
class StoredKey:
    operation: str
    request_hash: str
    result_id: UUID


_ACTION_COLUMNS = (
    "id",
    "campaign_id",
    "case_id",
    "action_type",
    "channel",
    "quantity",
    "occurred_at",
    "counted_on",
    "verification",
    "reporter_kind",
    "reporter_ref",
    "method",
    "client_id",
    "import_batch_id",
    "tally_id",
    "event_id",
    "flag",
)
_ACTION_TYPES = {
    "id": "uuid",
    "campaign_id": "uuid",
    "case_id": "uuid",
    "action_type": "text",
    "channel": "text",
    "quantity": "integer",
    "occurred_at": "timestamptz",
    "counted_on": "date",
    "verification": "text",
    "reporter_kind": "text",
    "reporter_ref": "text",
    "method": "text",
    "client_id": "text",
    "import_batch_id": "uuid",
    "tally_id": "uuid",
    "event_id": "uuid",
    "flag": "text",
}

# One statement for any number of rows: arrays unnested server-side (section_id defaults
# to the bound section, and row-level security checks it).
_INSERT_ACTIONS = text(
    f"INSERT INTO actions ({', '.join(_ACTION_COLUMNS)}) SELECT * FROM unnest("
    + ", ".join(f"CAST(:{column} AS {_ACTION_TYPES[column]}[])" for column in _ACTION_COLUMNS)
    + ")"
)

_INSERT_KEYS = text(
    "INSERT INTO idempotency_keys (client_id, key, operation, request_hash, result_id) "
    "SELECT :client_id, k, :operation, h, r FROM unnest("
    "CAST(:keys AS text[]), CAST(:hashes AS text[]), CAST(:results AS uuid[])) AS t(k, h, r) "
    "ON CONFLICT DO NOTHING RETURNING key"
)

_ROLLUP_VALUES = (
    "SELECT * FROM unnest(CAST(:campaign_ids AS uuid[]), CAST(:case_ids AS uuid[]), "
    "CAST(:action_types AS text[]), CAST(:channels AS text[]), CAST(:verifications AS text[]), "
    "CAST(:days AS date[]), CAST(:slots AS smallint[]), CAST(:quantities AS bigint[]), "
    "CAST(:counts AS bigint[]))"
)
_ROLLUP_COLUMNS = (
    "campaign_id, case_id, action_type, channel, verification, day, slot, quantity, rows"
)


def _upsert_rollups(table: str, key_columns: str) -> Any:
    return text(
        f"INSERT INTO {table} ({_ROLLUP_COLUMNS}) {_ROLLUP_VALUES} "
        f"ON CONFLICT ({key_columns}) DO UPDATE SET "
        f"quantity = {table}.quantity + EXCLUDED.quantity, rows = {table}.rows + EXCLUDED.rows"
    )


_RECORDED_COLUMNS = tuple(
    column
    for column in _ACTION_COLUMNS
    if column not in ("import_batch_id", "tally_id", "event_id")
)
"""What :meth:`LedgerRepository.record_action` writes of a ledger row."""

# One action in one round trip: the functions of migration 0012 (see there).
_CHECK_KEY = text(
    "SELECT locked, operation, request_hash, result_id FROM w4r_idempotency_check(:client, :key)"
)
_RECORD_ACTION = text(
    "SELECT recorded_at, claimed FROM w4r_record_action(:id, :campaign_id, :case_id, "
    ":action_type, :channel, :quantity, :occurred_at, :counted_on, :verification, "
    ":reporter_kind, :reporter_ref, :method, :client_id, :flag, "
    "CAST(:rollup_slot AS smallint), CAST(:mark_slot AS smallint), :operation, :key, "
    ":request_hash)"
)

# --- an import's rows, staged: COPY into a temporary table, then set-based statements ---

IMPORT_STAGE = "w4r_import_rows"
IMPORT_STAGE_COLUMNS = (
    "key",
    "request_hash",
    "campaign_year",
    "case_id",
    "action_type",
    "quantity",
    "occurred_at",
    "counted_on",
    "verification",
)
"""The columns of a staged row, in the order of the tuples given to ``stage_import``."""

# Dropped at commit at the latest; created inside the mutation's savepoint, so a refused
# import rolls it back with everything else. ``id`` is each new ledger row's id.
_CREATE_IMPORT_STAGE = text(
    f"CREATE TEMPORARY TABLE {IMPORT_STAGE} (key text NOT NULL, request_hash text NOT NULL, "
    "campaign_year integer NOT NULL, case_id uuid NOT NULL, action_type text NOT NULL, "
    "quantity integer NOT NULL, occurred_at timestamptz NOT NULL, counted_on date NOT NULL, "
    "verification text NOT NULL, id uuid NOT NULL DEFAULT gen_random_uuid()) ON COMMIT DROP"
)
_STAGED_STORED_KEYS = text(
    f"SELECT s.key, k.operation, k.request_hash, k.result_id FROM {IMPORT_STAGE} s "
    "JOIN idempotency_keys k ON k.client_id = :client_id AND k.key = s.key"
)
_UNSTAGE_KEYS = text(f"DELETE FROM {IMPORT_STAGE} WHERE key = ANY(CAST(:keys AS text[]))")
# The ledger rows and, from what was written, the rollup cells they add to.
_WRITE_STAGED = text(
    "WITH written AS (INSERT INTO actions (id, campaign_id, case_id, action_type, channel, "
    "quantity, occurred_at, counted_on, verification, reporter_kind, reporter_ref, method, "
    "client_id, import_batch_id) "
    "SELECT s.id, c.id, s.case_id, s.action_type, :channel, s.quantity, s.occurred_at, "
    "s.counted_on, s.verification, :reporter_kind, :reporter_ref, :method, :client_id, "
    f"CAST(:batch_id AS uuid) FROM {IMPORT_STAGE} s JOIN unnest(CAST(:years AS integer[]), "
    "CAST(:campaign_ids AS uuid[])) AS c(year, id) ON c.year = s.campaign_year "
    "RETURNING campaign_id, case_id, action_type, verification, counted_on, quantity) "
    "SELECT campaign_id, case_id, action_type, verification, counted_on, "
    "sum(quantity), count(*) FROM written "
    "GROUP BY campaign_id, case_id, action_type, verification, counted_on"
)
# Keys in sorted order, as in claim_keys: two batches sharing keys lock them in one order.
_CLAIM_STAGED_KEYS = text(
    "INSERT INTO idempotency_keys (client_id, key, operation, request_hash, result_id) "
    f"SELECT :client_id, key, :operation, request_hash, id FROM {IMPORT_STAGE} ORDER BY key "
    "ON CONFLICT DO NOTHING"
)
_DROP_IMPORT_STAGE = text(f"DROP TABLE {IMPORT_STAGE}")

_KEY = "campaign_id, case_id, action_type, channel, verification, day, slot"
_UPSERT_SECTION_ROLLUPS = _upsert_rollups("action_rollups", "section_id, " + _KEY)
_UPSERT_CASE_ROLLUPS = _upsert_rollups("case_rollups", _KEY)


class LedgerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def check_key(self, client_id: str, key: str) -> tuple[bool, StoredKey | None]:
        """Take the transaction-scoped lock of one idempotency key without waiting; when it
        is taken (True), the key as stored, or None for a new key."""
        row = (await self._session.execute(_CHECK_KEY, {"client": client_id, "key": key})).one()
        locked, operation, request_hash, result_id = row
        if not locked or operation is None:
            return bool(locked), None
        return True, StoredKey(operation, request_hash, result_id)

    async def record_action(
        self, row: dict[str, Any], operation: str, key: str, request_hash: str
    ) -> tuple[datetime, bool]:
        """Claim the idempotency key and, when the claim is new, write one ledger row
        (``row`` as for :meth:`insert_actions`) with its rollups (in a random slot),
        live-totals notice and milestone mark unless it is flagged, in one round trip:
        when it was recorded, and whether the claim was new (False: another transaction
        claimed the key first, and nothing was written)."""
        result = await self._session.execute(
            _RECORD_ACTION,
            {
                **{column: row.get(column) for column in _RECORDED_COLUMNS},
                "rollup_slot": random.randrange(ROLLUP_SLOTS),
                "mark_slot": random.randrange(MILESTONE_CHECK_SLOTS),
                "operation": operation,
                "key": key,
                "request_hash": request_hash,
            },
        )
        recorded_at, claimed = result.one()
        return recorded_at, bool(claimed)

    async def claim_keys(
        self,
        client_id: str,
        operation: str,
        keys: Sequence[str],
        hashes: Sequence[str],
        results: Sequence[UUID],
    ) -> int:
        """Insert the keys; return how many were new (a smaller number means another
        transaction claimed some of them first)."""
        # Keys in sorted order: two batches sharing keys lock them in the same order.
        ordered = sorted(zip(keys, hashes, results, strict=True))
        result = await self._session.execute(
            _INSERT_KEYS,
            {
                "client_id": client_id,
                "operation": operation,
                "keys": [key for key, _, _ in ordered],
                "hashes": [digest for _, digest, _ in ordered],
                "results": [result_id for _, _, result_id in ordered],
            },
        )
        return len(result.all())

    async def insert_actions(self, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        await self._session.execute(
            _INSERT_ACTIONS,
            {column: [row.get(column) for row in rows] for column in _ACTION_COLUMNS},
        )

    async def stage_import(self, rows: Iterable[Sequence[Any]]) -> None:
        """Stage an import's rows (tuples of :data:`IMPORT_STAGE_COLUMNS`) with one COPY;
        the staged statements below work on them until :meth:`drop_import_stage`."""
        if not isinstance(self._session, SerialSession):
            raise TypeError("Staging an import needs an app session (SerialSession).")
        await self._session.execute(_CREATE_IMPORT_STAGE)
        await self._session.copy_records(IMPORT_STAGE, IMPORT_STAGE_COLUMNS, rows)

    async def staged_stored_keys(self, client_id: str) -> dict[str, StoredKey]:
        """The staged keys this client already used, as stored."""
        result = await self._session.execute(_STAGED_STORED_KEYS, {"client_id": client_id})
        return {
            key: StoredKey(operation, request_hash, result_id)
            for key, operation, request_hash, result_id in result
        }

    async def unstage_keys(self, keys: Sequence[str]) -> None:
        """Leave the rows of these keys out of what is written (replays)."""
        if keys:
            await self._session.execute(_UNSTAGE_KEYS, {"keys": list(keys)})

    async def write_staged(
        self,
        *,
        campaign_ids: dict[int, UUID],
        batch_id: UUID,
        channel: str,
        reporter_kind: str,
        reporter_ref: str | None,
        method: str,
        client_id: str,
    ) -> dict[RollupKey, tuple[int, int]]:
        """Write the staged rows to the ledger, each in the campaign of its year
        (``campaign_ids``), in one statement; return the (quantity, rows) each rollup cell
        gains."""
        result = await self._session.execute(
            _WRITE_STAGED,
            {
                "years": list(campaign_ids),
                "campaign_ids": list(campaign_ids.values()),
                "batch_id": batch_id,
                "channel": channel,
                "reporter_kind": reporter_kind,
                "reporter_ref": reporter_ref,
                "method": method,
                "client_id": client_id,
            },
        )
        return {
            RollupKey(campaign_id, case_id, action_type, channel, verification, day): (
                int(quantity),
                int(rows),
            )
            for campaign_id, case_id, action_type, verification, day, quantity, rows in result
        }

    async def claim_staged_keys(self, client_id: str, operation: str) -> int:
        """Claim the staged rows' keys (each with its ledger row as result); return how many
        were new (fewer: another transaction claimed some first)."""
        result = await self._session.execute(
            _CLAIM_STAGED_KEYS, {"client_id": client_id, "operation": operation}
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def drop_import_stage(self) -> None:
        await self._session.execute(_DROP_IMPORT_STAGE)

    async def actions(self, ids: Sequence[UUID]) -> dict[UUID, Action]:
        result = await self._session.execute(select(Action).where(Action.id.in_(ids)))
        return {action.id: action for action in result.scalars()}

    async def flagged_actions(
        self, *, limit: int, before: tuple[datetime, UUID] | None
    ) -> list[Action]:
        """The bound section's flagged actions, newest first (keyset: recorded_at, id)."""
        query = (
            select(Action)
            .where(Action.flag.is_not(None))
            .order_by(Action.recorded_at.desc(), Action.id.desc())
            .limit(limit)
        )
        if before is not None:
            query = query.where(tuple_(Action.recorded_at, Action.id) < tuple_(*before))
        return list((await self._session.execute(query)).scalars())

    async def add_rollups(self, cells: dict[RollupKey, tuple[int, int]]) -> None:
        """Add (quantity, rows) to each cell, in the section's rollups and the global case
        rollups; each cell goes to one random slot. Cells are written in a fixed order so
        concurrent writers take row locks in the same order (no deadlock)."""
        if not cells:
            return
        ordered = sorted(cells.items(), key=lambda item: _sort_key(item[0]))
        parameters = {
            "campaign_ids": [key.campaign_id for key, _ in ordered],
            "case_ids": [key.case_id for key, _ in ordered],
            "action_types": [key.action_type for key, _ in ordered],
            "channels": [key.channel for key, _ in ordered],
            "verifications": [key.verification for key, _ in ordered],
            "days": [key.day for key, _ in ordered],
            "slots": [random.randrange(ROLLUP_SLOTS) for _ in ordered],
            "quantities": [quantity for _, (quantity, _) in ordered],
            "counts": [count for _, (_, count) in ordered],
        }
        await self._session.execute(_UPSERT_SECTION_ROLLUPS, parameters)
        await self._session.execute(_UPSERT_CASE_ROLLUPS, parameters)

    async def notify_totals(self, topics: set[tuple[UUID, UUID]]) -> None:
        """Tell every replica (on commit: NOTIFY is transactional) which totals changed."""
        if not topics:
            return
        payloads = sorted(
            json.dumps({"campaign": str(campaign_id), "case": str(case_id)})
            for campaign_id, case_id in topics
        )
        await self._session.execute(
            text("SELECT pg_notify(:channel, p) FROM unnest(CAST(:payloads AS text[])) AS p"),
            {"channel": NOTIFY_CHANNEL, "payloads": payloads},
        )

    # --- import batches and tallies ------------------------------------------------------

    async def add(self, row: Any) -> Any:
        self._session.add(row)
        await self._session.flush()
        await self._session.refresh(row)
        return row

    async def tally(self, tally_id: UUID) -> Tally | None:
        result = await self._session.execute(select(Tally).where(Tally.id == tally_id))
        return result.scalar_one_or_none()

    async def tally_lines(self, tally_ids: Sequence[UUID]) -> dict[UUID, list[TallyLine]]:
        result = await self._session.execute(
            select(TallyLine)
            .where(TallyLine.tally_id.in_(tally_ids))
            .order_by(TallyLine.tally_id, TallyLine.line)
        )
        return group_by(tally_ids, result.scalars(), lambda line: line.tally_id)

    async def decide_tally(self, tally_id: UUID, **values: Any) -> Tally | None:
        """Move a pending tally to approved or rejected; None when it was not pending (so two
        reviewers can never both approve it)."""
        result = await self._session.execute(
            text(
                "UPDATE action_tallies SET state = :state, reviewed_by = :reviewed_by, "
                "reviewed_at = now(), review_note = :review_note "
                "WHERE id = :id AND state = 'pending' RETURNING id"
            ),
            {"id": tally_id, **values},
        )
        if result.first() is None:
            return None
        tally = await self.tally(tally_id)
        if tally is not None:
            await self._session.refresh(tally)
        return tally

    async def tallies(
        self, *, state: str | None, limit: int, after: tuple[Any, UUID] | None
    ) -> list[Tally]:
        query = select(Tally).order_by(Tally.created_at, Tally.id).limit(limit)
        if state is not None:
            query = query.where(Tally.state == state)
        if after is not None:
            query = query.where(tuple_(Tally.created_at, Tally.id) > tuple_(*after))
        return list((await self._session.execute(query)).scalars())

    # --- a supporter's erasure ---------------------------------------------------------

    async def tallies_by_reporter_email(self, emails: Sequence[str]) -> list[Tally]:
        """Tallies reported with one of these emails, ignoring letter case."""
        result = await self._session.execute(
            select(Tally)
            .where(func.lower(Tally.reporter_email).in_([email.lower() for email in emails]))
            .order_by(Tally.created_at, Tally.id)
        )
        return list(result.scalars())

    async def tallies_decided_before(self, before: datetime) -> list[UUID]:
        """Tallies decided (approved or rejected) before ``before`` that still name their
        reporter."""
        result = await self._session.execute(
            select(Tally.id)
            .where(
                Tally.reviewed_at < before,
                (Tally.reporter_name.is_not(None)) | (Tally.reporter_email.is_not(None)),
            )
            .order_by(Tally.id)
        )
        return list(result.scalars())

    async def forget_tally_reporters(self, tally_ids: Sequence[UUID]) -> int:
        """Remove the reporter's name and email; the tally, its lines and what its approval
        counted stay."""
        if not tally_ids:
            return 0
        result = await self._session.execute(
            update(Tally)
            .where(Tally.id.in_(tally_ids))
            .values(reporter_name=None, reporter_email=None)
            .returning(Tally.id)
        )
        return len(result.all())

    async def forget_request_hashes(self, operation: str, result_ids: Sequence[UUID]) -> int:
        """Replace the content hash of the keys that led to these results (it was derived
        from personal data). The keys stay claimed: a replay is refused as a reused key
        instead of counting again."""
        if not result_ids:
            return 0
        result = await self._session.execute(
            update(IdempotencyKey)
            .where(
                IdempotencyKey.operation == operation,
                IdempotencyKey.result_id.in_(result_ids),
            )
            .values(request_hash=ERASED_REQUEST_HASH)
            .returning(IdempotencyKey.key)
        )
        return len(result.all())


def _sort_key(key: RollupKey) -> tuple[str, ...]:
    return (
        str(key.campaign_id),
        str(key.case_id),
        key.action_type,
        key.channel,
        key.verification,
        key.day.isoformat(),
    )
