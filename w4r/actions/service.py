"""Recording actions exactly once, importing batches, and tallies.

Every ledger write, in one transaction: the idempotency key (claimed by a unique insert),
the ledger rows, the rollups of the section and of the case, a NOTIFY for live totals, and
the mark that has the webhook dispatcher check the totals' milestones.
Input is checked before anything is written and a refusal writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import uuid
import zoneinfo
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from w4r.actions.drafts import ActionDraft, Recorder, TallyDraft
from w4r.actions.models import (
    MAX_QUANTITY,
    Action,
    ActionType,
    Channel,
    ImportBatch,
    ReporterKind,
    Tally,
    TallyLine,
    TallyState,
    Verification,
)
from w4r.actions.repository import LedgerRepository, RollupKey
from w4r.campaigns.models import Campaign, CampaignStatus
from w4r.campaigns.repository import CampaignRepository, SectionCampaignRepository
from w4r.platform.errors import InvalidInputError, ProblemCode
from w4r.platform.metrics import count_actions_on_commit
from w4r.platform.reference import ReferenceCache
from w4r.platform.validation import Problems
from w4r.webhooks.service import WebhookOutbox

Screen = Callable[[], Awaitable[str | None]]
"""Decides, just before a public write, whether it must be flagged (and why)."""

MAX_IMPORT_ROWS = 10_000
MAX_TALLY_LINES = 50
MAX_CLOCK_SKEW = timedelta(minutes=5)
MAX_KEY_LENGTH = 200


@dataclass(frozen=True, slots=True)
class SectionContext:
    """What the ledger needs to know of the bound section."""

    section_id: UUID
    time_zone: str
    grace_days: int


@dataclass(frozen=True, slots=True)
class Recorded:
    action: Action
    replayed: bool


@dataclass(frozen=True, slots=True)
class ImportResult:
    batch_id: UUID
    created: int
    replayed: int
    quantity: int


def request_hash(operation: str, payload: dict[str, Any]) -> str:
    canonical = json.dumps({"operation": operation, **payload}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def import_row_hash(draft: ActionDraft, occurred_at: datetime) -> str:
    """``request_hash("actionsImport", …)`` of one import row (stored with its key, so it
    must never change), from the same text written directly: json.dumps took most of the
    time of hashing a 10,000-row import. Every value is an int or a string that JSON does
    not escape (a UUID, an ISO 8601 time, an enum value); the tests check both agree."""
    canonical = (
        f'{{"campaign": {draft.campaign_year}, "case": "{draft.case_id}", '
        f'"occurredAt": "{occurred_at.isoformat()}", "operation": "actionsImport", '
        f'"quantity": {draft.quantity}, "type": "{draft.action_type.value}", '
        f'"verification": "{draft.verification.value}"}}'
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class CampaignRule:
    """What the section may count for one campaign year, loaded once and checked for any
    number of rows."""

    year: int
    campaign: Campaign | None
    """None: there is no such campaign (or it is a draft)."""
    featured: frozenset[UUID]
    window: tuple[date, date] | None
    bounds: tuple[datetime, datetime] | None
    """The first instant and the end (exclusive, grace days included) of the window."""
    latest: datetime
    """The latest time an action may have happened: now, plus the allowed clock skew."""
    time_zone: str
    grace_days: int

    def check(
        self, case_id: UUID, occurred_at: datetime, problems: Problems, prefix: str = ""
    ) -> Campaign | None:
        """The campaign, when the section may count an action for this case at this time."""
        if self.campaign is None:
            problems.add(
                prefix + "campaign", ProblemCode.NOT_FOUND, f"There is no {self.year} campaign."
            )
            return None
        if case_id not in self.featured:
            problems.add(
                prefix + "caseId",
                ProblemCode.NOT_ALLOWED,
                f"This section does not feature case {case_id} in the {self.year} campaign.",
            )
        if self.window is None or self.bounds is None:
            problems.add(
                prefix + "campaign",
                ProblemCode.NOT_ALLOWED,
                f"The {self.year} campaign has no window: it takes no new actions.",
            )
            return self.campaign
        start, end = self.bounds
        if not start <= occurred_at < end:
            problems.add(
                prefix + "occurredAt",
                ProblemCode.OUTSIDE_WINDOW,
                f"The {self.year} campaign takes actions from {self.window[0]} to "
                f"{self.window[1]} (plus {self.grace_days} days of grace) in {self.time_zone}.",
            )
        if occurred_at > self.latest:
            problems.add(prefix + "occurredAt", ProblemCode.INVALID, "It cannot be in the future.")
        return self.campaign


def _window(
    campaign: Campaign, starts_on: date | None, ends_on: date | None
) -> tuple[date, date] | None:
    """The section's own window (``starts_on``, ``ends_on``) if it has one, else the
    campaign's, else None."""
    if starts_on and ends_on:
        return (starts_on, ends_on)
    if campaign.starts_on and campaign.ends_on:
        return (campaign.starts_on, campaign.ends_on)
    return None


Participation = tuple[Campaign, tuple[date, date] | None, frozenset[UUID]]
"""A campaign (never a draft), the section's window for it and the cases it features."""

PARTICIPATION: ReferenceCache[tuple[UUID, int], Participation | None] = ReferenceCache()
"""Per process, by (section, year): read by every action, changed a few times a campaign."""


def _detached(campaign: Campaign) -> Campaign:
    """A copy of the loaded row outside any session, safe to share between requests (the
    session's own instance may carry that request's pending changes)."""
    mapper = inspect(Campaign)
    return Campaign(**{column.key: getattr(campaign, column.key) for column in mapper.column_attrs})


class CampaignRules:
    """Which cases a section may count actions for, and when."""

    def __init__(self, session: AsyncSession, section: SectionContext) -> None:
        self._session = session
        self._campaigns = CampaignRepository(session)
        self._participation = SectionCampaignRepository(session)
        self._section = section
        self._rules: dict[tuple[int, date | None], CampaignRule] = {}

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self._section.time_zone)

    async def load(self, year: int) -> Participation | None:
        """The campaign (never a draft), the section's window for it (its own, else the
        campaign's, else None) and the cases the section features in it: kept per process
        while the reference data is unchanged (w4r.platform.reference)."""

        async def read() -> Participation | None:
            found = await self._campaigns.with_participation(year)  # one round trip
            if found is None or found[0].status is CampaignStatus.DRAFT:
                return None
            campaign, starts_on, ends_on, featured = found
            window = _window(campaign, starts_on, ends_on)
            return (_detached(campaign), window, frozenset(featured))

        return await PARTICIPATION.get(self._session, (self._section.section_id, year), read)

    async def window(self, campaign: Campaign) -> tuple[date, date] | None:
        participation = await self._participation.get(campaign.id)
        if participation is None:
            return _window(campaign, None, None)
        return _window(campaign, participation.starts_on, participation.ends_on)

    async def campaign(self, campaign_id: UUID) -> Campaign | None:
        return await self._campaigns.get(campaign_id)

    def clamp(self, moment: datetime, window: tuple[date, date] | None) -> datetime:
        """``moment`` moved into the window (its first instant or its last day's noon)."""
        if window is None:
            return moment
        start = datetime.combine(window[0], time.min, self.zone)
        last = datetime.combine(window[1], time(12), self.zone)
        return min(max(moment, start), last)

    def _bounds(self, window: tuple[date, date]) -> tuple[datetime, datetime]:
        start = datetime.combine(window[0], time.min, self.zone)
        end = datetime.combine(
            window[1] + timedelta(days=1 + self._section.grace_days), time.min, self.zone
        )
        return start, end

    async def rule(self, year: int, *, deadline: date | None = None) -> CampaignRule:
        """The rule of ``year``'s campaign (``deadline``: actions count until the end of
        that day, if it is later than the window's end)."""
        cached = self._rules.get((year, deadline))
        if cached is not None:
            return cached
        loaded = await self.load(year)
        campaign, window, featured = loaded if loaded is not None else (None, None, frozenset())
        bounds = None
        if window is not None:
            start, end = self._bounds(window)
            if deadline is not None:
                end = max(end, datetime.combine(deadline + timedelta(days=1), time.min, self.zone))
            bounds = (start, end)
        rule = CampaignRule(
            year=year,
            campaign=campaign,
            featured=featured,
            window=window,
            bounds=bounds,
            latest=datetime.now(UTC) + MAX_CLOCK_SKEW,
            time_zone=self._section.time_zone,
            grace_days=self._section.grace_days,
        )
        self._rules[(year, deadline)] = rule
        return rule

    async def check(
        self,
        year: int,
        case_id: UUID,
        occurred_at: datetime,
        problems: Problems,
        prefix: str = "",
        *,
        deadline: date | None = None,
    ) -> Campaign | None:
        """The campaign, when the section may count an action for this case at this time."""
        rule = await self.rule(year, deadline=deadline)
        return rule.check(case_id, occurred_at, problems, prefix)

    def day(self, moment: datetime) -> date:
        """The day an action counts for: its date in the section's time zone."""
        return moment.astimezone(self.zone).date()


def _key(value: str, field: str, problems: Problems) -> str:
    cleaned = value.strip()
    if not cleaned or len(cleaned) > MAX_KEY_LENGTH or not cleaned.isprintable():
        problems.add(
            field,
            ProblemCode.INVALID,
            f"An idempotency key is 1 to {MAX_KEY_LENGTH} printable characters (use a UUID).",
        )
    return cleaned


def _quantity(value: int, field: str, problems: Problems) -> None:
    if not 1 <= value <= MAX_QUANTITY:
        problems.add(
            field, ProblemCode.INVALID, f"A quantity is a whole number from 1 to {MAX_QUANTITY}."
        )


def _moment(value: datetime | None, field: str, problems: Problems) -> datetime:
    if value is None:
        return datetime.now(UTC)
    if value.tzinfo is None:
        problems.add(field, ProblemCode.INVALID, "Give a time with its offset (ISO 8601).")
        return value.replace(tzinfo=UTC)
    return value


class LedgerService:
    def __init__(self, session: AsyncSession, section: SectionContext) -> None:
        self._session = session
        self._ledger = LedgerRepository(session)
        self._rules = CampaignRules(session, section)
        self._section = section
        self._webhooks = WebhookOutbox(session)

    def _row(
        self,
        draft: ActionDraft,
        campaign: Campaign,
        occurred_at: datetime,
        recorder: Recorder,
        *,
        batch_id: UUID | None = None,
        tally_id: UUID | None = None,
    ) -> dict[str, Any]:
        return {
            "id": uuid.uuid4(),
            "campaign_id": campaign.id,
            "case_id": draft.case_id,
            "action_type": draft.action_type.value,
            "channel": recorder.channel.value,
            "quantity": draft.quantity,
            "occurred_at": occurred_at,
            "counted_on": self._rules.day(occurred_at),
            "verification": draft.verification.value,
            "reporter_kind": recorder.reporter_kind.value,
            "reporter_ref": recorder.reporter_ref,
            "method": recorder.method,
            "client_id": recorder.client_id,
            "import_batch_id": batch_id,
            "tally_id": tally_id,
            "event_id": None,
        }

    async def _write(self, rows: Sequence[dict[str, Any]]) -> None:
        """Ledger rows, then their rollups and the live-totals notice, in this transaction.
        Flagged rows (held back by abuse protection) are stored but never rolled up, nor
        counted in the metrics (which count only once the transaction commits)."""
        await self._ledger.insert_actions(rows)
        cells: dict[RollupKey, tuple[int, int]] = {}
        for row in rows:
            if row.get("flag") is not None:
                continue
            key = RollupKey(
                campaign_id=row["campaign_id"],
                case_id=row["case_id"],
                action_type=row["action_type"],
                channel=row["channel"],
                verification=row["verification"],
                day=row["counted_on"],
            )
            quantity, count = cells.get(key, (0, 0))
            cells[key] = (quantity + row["quantity"], count + 1)
        await self._count(cells)

    async def _count(self, cells: dict[RollupKey, tuple[int, int]]) -> None:
        """What newly written, unflagged ledger rows add to each rollup cell (quantity,
        rows): the rollups, the live-totals notice, the milestone mark and the metrics."""
        await self._ledger.add_rollups(cells)
        changed = {(key.campaign_id, key.case_id) for key in cells}
        await self._ledger.notify_totals(changed)
        # Milestones are checked after this commits (see w4r.webhooks.service).
        await self._webhooks.totals_changed(sorted(changed, key=str))
        counted: dict[tuple[str, str], int] = {}
        for key, (quantity, _) in cells.items():
            by_kind = (key.action_type, key.channel)
            counted[by_kind] = counted.get(by_kind, 0) + quantity
        count_actions_on_commit(self._session, counted)

    # --- for other domains that count through the ledger (petition signatures) ----------

    @staticmethod
    def idempotency_key(value: str, field: str, problems: Problems) -> str:
        """The cleaned key; a problem when it cannot be one."""
        return _key(value, field, problems)

    async def replay_of(self, client_id: str, key: str, operation: str, digest: str) -> UUID | None:
        """The result id of an earlier request with this key and content (see
        :meth:`_first_result`), for operations whose result is not a ledger row."""
        return await self._first_result(client_id, key, operation, digest)

    async def claim_key(
        self, client_id: str, key: str, operation: str, digest: str, result_id: UUID
    ) -> None:
        """Store the key with its result, in the transaction that did the work."""
        claimed = await self._ledger.claim_keys(client_id, operation, [key], [digest], [result_id])
        if claimed != 1:  # the advisory lock makes this unreachable unless hashes collide
            raise InvalidInputError.one(
                "idempotencyKey", ProblemCode.IN_PROGRESS, "Retry this request shortly."
            )

    async def check_action(self, year: int, case_id: UUID, occurred_at: datetime) -> Campaign:
        """The campaign, when the section may count an action for this case at this time;
        else the problems (campaign, caseId, occurredAt)."""
        problems = Problems()
        campaign = await self._rules.check(year, case_id, occurred_at, problems)
        problems.raise_any()
        assert campaign is not None
        return campaign

    async def record_verified(
        self,
        campaign_id: UUID,
        case_id: UUID,
        action_type: ActionType,
        occurred_at: datetime,
        recorder: Recorder,
    ) -> UUID:
        """One verified action whose uniqueness another record guarantees (a signature
        counts once: its own row moves from pending to counted). No idempotency key, and
        no client id on the ledger row: the action must not link to a device."""
        row: dict[str, Any] = {
            "id": uuid.uuid4(),
            "campaign_id": campaign_id,
            "case_id": case_id,
            "action_type": action_type.value,
            "channel": recorder.channel.value,
            "quantity": 1,
            "occurred_at": occurred_at,
            "counted_on": self._rules.day(occurred_at),
            "verification": Verification.VERIFIED.value,
            "reporter_kind": recorder.reporter_kind.value,
            "reporter_ref": recorder.reporter_ref,
            "method": recorder.method,
            "client_id": None,
            "import_batch_id": None,
            "tally_id": None,
            "event_id": None,
        }
        await self._write([row])
        action_id: UUID = row["id"]
        return action_id

    async def _first_result(
        self, client_id: str, key: str, operation: str, digest: str
    ) -> UUID | None:
        """The result of an earlier request with this key and the same content (a replay),
        or None for a new key. Refuses a key in flight or used for other content."""
        locked, stored = await self._ledger.check_key(client_id, key)
        if not locked:
            raise InvalidInputError.one(
                "idempotencyKey",
                ProblemCode.IN_PROGRESS,
                "A request with this idempotency key is still being processed; retry shortly.",
            )
        if stored is None:
            return None
        if stored.operation != operation or stored.request_hash != digest:
            raise InvalidInputError.one(
                "idempotencyKey",
                ProblemCode.IDEMPOTENCY_KEY_REUSED,
                "This idempotency key was used for a different request; use a new key.",
            )
        return stored.result_id

    async def record(
        self, draft: ActionDraft, recorder: Recorder, screen: Screen | None = None
    ) -> Recorded:
        """One action, exactly once per (section, client, idempotency key).

        ``screen`` runs only when a new action is about to be written (never for a replay
        or a refusal) and returns the flag to record it with: a flagged action is stored
        and answered like any other but never counted. A replay returns the first action,
        flagged or not, and counts nothing again. Every refusal comes before the first
        write, so the caller needs no savepoint."""
        problems = Problems()
        key = _key(draft.idempotency_key, "idempotencyKey", problems)
        occurred_at = _moment(draft.occurred_at, "occurredAt", problems)
        _quantity(draft.quantity, "quantity", problems)
        problems.raise_any()
        digest = request_hash(
            "actionRecord",
            {
                "campaign": draft.campaign_year,
                "case": str(draft.case_id),
                "type": draft.action_type.value,
                "occurredAt": None if draft.occurred_at is None else occurred_at.isoformat(),
                "quantity": draft.quantity,
                "channel": recorder.channel.value,
            },
        )
        first = await self._first_result(recorder.client_id, key, "actionRecord", digest)
        if first is not None:
            action = (await self._ledger.actions([first]))[first]
            return Recorded(action=action, replayed=True)
        campaign = await self._rules.check(
            draft.campaign_year, draft.case_id, occurred_at, problems
        )
        problems.raise_any()
        assert campaign is not None
        row = self._row(draft, campaign, occurred_at, recorder)
        row["flag"] = None if screen is None else await screen()
        # The key, then the row, its rollups, notice and milestone mark: one round trip
        # (the batch path, _write, writes the same in a statement each).
        recorded_at, claimed = await self._ledger.record_action(row, "actionRecord", key, digest)
        if not claimed:  # nothing was written; unreachable unless the lock's hashes collide
            raise InvalidInputError.one(
                "idempotencyKey", ProblemCode.IN_PROGRESS, "Retry this request shortly."
            )
        if row["flag"] is None:
            count_actions_on_commit(
                self._session, {(row["action_type"], row["channel"]): draft.quantity}
            )
        # The answer is built from what was written, not read back.
        action = Action(
            id=row["id"],
            section_id=self._section.section_id,
            campaign_id=campaign.id,
            case_id=draft.case_id,
            action_type=draft.action_type,
            channel=recorder.channel,
            quantity=draft.quantity,
            occurred_at=occurred_at,
            counted_on=row["counted_on"],
            verification=draft.verification,
            reporter_kind=recorder.reporter_kind,
            reporter_ref=recorder.reporter_ref,
            method=recorder.method,
            client_id=recorder.client_id,
            flag=row["flag"],
            recorded_at=recorded_at,
        )
        return Recorded(action=action, replayed=False)

    async def import_batch(self, drafts: Sequence[ActionDraft], recorder: Recorder) -> ImportResult:
        """Up to MAX_IMPORT_ROWS actions, all or nothing. Rows whose key was already used
        for the same row are replays (counted once, not again); every other problem is
        reported with its row number and nothing is written.

        The rows are checked in Python (one pass, then one rule per campaign year), staged
        with one COPY into a temporary table, and written from there by set-based
        statements: the stored keys, the ledger rows with the cells they add to, the keys.
        """
        if not drafts:
            raise InvalidInputError.one("actions", ProblemCode.REQUIRED, "Send at least one row.")
        if len(drafts) > MAX_IMPORT_ROWS:
            raise InvalidInputError.one(
                "actions",
                ProblemCode.TOO_LONG,
                f"At most {MAX_IMPORT_ROWS} rows a batch; split it.",
            )
        problems = Problems()
        seen: dict[str, int] = {}
        zone = self._rules.zone
        staged: list[tuple[Any, ...]] = []  # IMPORT_STAGE_COLUMNS
        for index, draft in enumerate(drafts):
            prefix = f"actions.{index}."
            key = _key(draft.idempotency_key, prefix + "idempotencyKey", problems)
            if key in seen:
                problems.add(
                    prefix + "idempotencyKey",
                    ProblemCode.ALREADY_EXISTS,
                    f"Row {seen[key]} has the same idempotency key.",
                )
            seen[key] = index
            _quantity(draft.quantity, prefix + "quantity", problems)
            occurred_at = _moment(draft.occurred_at, prefix + "occurredAt", problems)
            staged.append(
                (
                    key,
                    import_row_hash(draft, occurred_at),
                    draft.campaign_year,
                    draft.case_id,
                    draft.action_type.value,
                    draft.quantity,
                    occurred_at,
                    occurred_at.astimezone(zone).date(),
                    draft.verification.value,
                )
            )
        problems.raise_any()
        await self._ledger.stage_import(staged)
        stored = await self._ledger.staged_stored_keys(recorder.client_id)
        replayed: list[str] = []
        for index, (key, digest, *_) in enumerate(staged):
            previous = stored.get(key)
            if previous is None:
                continue
            if previous.operation != "actionsImport" or previous.request_hash != digest:
                problems.add(
                    f"actions.{index}.idempotencyKey",
                    ProblemCode.IDEMPOTENCY_KEY_REUSED,
                    "This idempotency key was used for a different row; use a new key.",
                )
            else:
                replayed.append(key)
        rules: dict[int, CampaignRule] = {}
        quantity = 0
        for index, draft in enumerate(drafts):
            row = staged[index]
            if row[0] in stored:
                continue
            rule = rules.get(draft.campaign_year)
            if rule is None:
                rule = rules[draft.campaign_year] = await self._rules.rule(draft.campaign_year)
            rule.check(draft.case_id, row[6], problems, f"actions.{index}.")
            quantity += draft.quantity
        problems.raise_any()
        created = len(staged) - len(replayed)
        batch: ImportBatch = await self._ledger.add(
            ImportBatch(
                client_id=recorder.client_id,
                reporter_ref=recorder.reporter_ref,
                row_count=created,
                quantity_total=quantity,
            )
        )
        await self._ledger.unstage_keys(replayed)
        written = await self._ledger.write_staged(
            campaign_ids={
                year: rule.campaign.id for year, rule in rules.items() if rule.campaign is not None
            },
            batch_id=batch.id,
            channel=Channel.IMPORT.value,
            reporter_kind=ReporterKind.IMPORT_BATCH.value,
            reporter_ref=recorder.reporter_ref,
            method=recorder.method,
            client_id=recorder.client_id,
        )
        await self._count(written)
        claimed = await self._ledger.claim_staged_keys(recorder.client_id, "actionsImport")
        if claimed != created:
            raise InvalidInputError.one(
                "actions",
                ProblemCode.IN_PROGRESS,
                "Another request recorded some of these keys meanwhile; retry the batch (rows "
                "already recorded will be replays).",
            )
        await self._ledger.drop_import_stage()
        return ImportResult(
            batch_id=batch.id, created=created, replayed=len(replayed), quantity=quantity
        )

    # --- event reports ------------------------------------------------------------------

    async def check_event_cases(
        self, year: int, case_ids: Sequence[UUID], occurred_at: datetime, problems: Problems
    ) -> Campaign | None:
        """The campaign, when the section may count actions for these cases at this time."""
        campaign = None
        for index, case_id in enumerate(case_ids):
            campaign = await self._rules.check(
                year, case_id, occurred_at, problems, f"lines.{index}."
            )
        return campaign

    async def record_event_report(
        self,
        *,
        campaign: Campaign,
        event_id: UUID,
        occurred_at: datetime,
        deltas: dict[tuple[UUID, ActionType], int],
        reporter_kind: ReporterKind,
        reporter_ref: str | None,
    ) -> None:
        """Ledger rows for what changed since the event's previous report: a correction
        adds the difference (negative where the new report says less), never the whole."""
        rows = [
            {
                "id": uuid.uuid4(),
                "campaign_id": campaign.id,
                "case_id": case_id,
                "action_type": action_type.value,
                "channel": Channel.EVENT.value,
                "quantity": quantity,
                "occurred_at": occurred_at,
                "counted_on": self._rules.day(occurred_at),
                "verification": Verification.SELF_REPORTED.value,
                "reporter_kind": reporter_kind.value,
                "reporter_ref": reporter_ref,
                "method": "eventReport",
                "client_id": None,
                "import_batch_id": None,
                "tally_id": None,
                "event_id": event_id,
            }
            for (case_id, action_type), quantity in sorted(
                deltas.items(), key=lambda item: (str(item[0][0]), item[0][1].value)
            )
            if quantity != 0
        ]
        await self._write(rows)

    # --- tallies ------------------------------------------------------------------------

    async def report_tally(self, draft: TallyDraft, recorder: Recorder) -> tuple[Tally, bool]:
        problems = Problems()
        key = _key(draft.idempotency_key, "idempotencyKey", problems)
        if not draft.lines:
            problems.add("lines", ProblemCode.REQUIRED, "Report at least one line.")
        if len(draft.lines) > MAX_TALLY_LINES:
            problems.add("lines", ProblemCode.TOO_LONG, f"At most {MAX_TALLY_LINES} lines.")
        now = datetime.now(UTC)
        for index, line in enumerate(draft.lines):
            _quantity(line.quantity, f"lines.{index}.quantity", problems)
        name = problems.text(draft.reporter_name, "reporterName", max_length=200)
        email = None
        if draft.reporter_email:
            email = problems.email(draft.reporter_email, "reporterEmail")
        note = problems.text(draft.note, "note", max_length=2000, multiline=True)
        problems.raise_any()
        digest = request_hash(
            "tallyReport",
            {
                "campaign": draft.campaign_year,
                "lines": [
                    [str(line.case_id), line.action_type.value, line.quantity]
                    for line in draft.lines
                ],
                "reporterKind": draft.reporter_kind.value,
            },
        )
        first_id = await self._first_result(recorder.client_id, key, "tallyReport", digest)
        if first_id is not None:
            first = await self._ledger.tally(first_id)
            assert first is not None
            return first, True
        loaded = await self._rules.load(draft.campaign_year)
        if loaded is None:
            raise InvalidInputError.one(
                "campaign", ProblemCode.NOT_FOUND, f"There is no {draft.campaign_year} campaign."
            )
        campaign = loaded[0]
        if loaded[1] is None:
            raise InvalidInputError.one(
                "campaign",
                ProblemCode.NOT_ALLOWED,
                f"The {draft.campaign_year} campaign has no window: it takes no new actions.",
            )
        for index, line in enumerate(draft.lines):
            await self._rules.check(
                draft.campaign_year,
                line.case_id,
                now,
                problems,
                f"lines.{index}.",
                deadline=campaign.reporting_deadline,
            )
        problems.raise_any()
        tally: Tally = await self._ledger.add(
            Tally(
                campaign_id=campaign.id,
                reporter_kind=draft.reporter_kind,
                reporter_name=name,
                reporter_email=email,
                reporter_ref=recorder.reporter_ref,
                note=note,
                state=TallyState.PENDING,
            )
        )
        for index, line in enumerate(draft.lines):
            await self._ledger.add(
                TallyLine(
                    tally_id=tally.id,
                    line=index,
                    case_id=line.case_id,
                    action_type=line.action_type,
                    quantity=line.quantity,
                )
            )
        await self._ledger.claim_keys(
            recorder.client_id, "tallyReport", [key], [digest], [tally.id]
        )
        return tally, False

    async def decide_tally(
        self, tally_id: UUID, *, approve: bool, reviewer: str | None, note: str | None
    ) -> Tally:
        """Approve (the tally's lines enter the ledger as self-reported actions) or reject.
        A tally is decided once: deciding it again is refused."""
        problems = Problems()
        review_note = problems.text(note, "note", max_length=2000, multiline=True)
        problems.raise_any()
        tally = await self._ledger.tally(tally_id)
        if tally is None:
            raise InvalidInputError.one(
                "id", ProblemCode.NOT_FOUND, f"There is no tally {tally_id}."
            )
        decided = await self._ledger.decide_tally(
            tally_id,
            state=(TallyState.APPROVED if approve else TallyState.REJECTED).value,
            reviewed_by=reviewer,
            review_note=review_note,
        )
        if decided is None:
            raise InvalidInputError.one(
                "id", ProblemCode.NOT_ALLOWED, f"The tally was already {tally.state.value}."
            )
        if approve:
            lines = (await self._ledger.tally_lines([tally_id]))[tally_id]
            campaign = await self._rules.campaign(decided.campaign_id)
            window = None if campaign is None else await self._rules.window(campaign)
            # Self-reported actions happened during the campaign: a tally reported after it
            # counts on the window's last day.
            occurred_at = self._rules.clamp(decided.created_at, window)
            recorder = Recorder(
                reporter_kind=decided.reporter_kind,
                reporter_ref=decided.reporter_ref,
                client_id="tally",
                channel=Channel.OFFLINE_REPORT,
                method="tallyApprove",
            )
            rows = [
                {
                    "id": uuid.uuid4(),
                    "campaign_id": decided.campaign_id,
                    "case_id": line.case_id,
                    "action_type": line.action_type.value,
                    "channel": Channel.OFFLINE_REPORT.value,
                    "quantity": line.quantity,
                    "occurred_at": occurred_at,
                    "counted_on": self._rules.day(occurred_at),
                    "verification": Verification.SELF_REPORTED.value,
                    "reporter_kind": recorder.reporter_kind.value,
                    "reporter_ref": recorder.reporter_ref,
                    "method": recorder.method,
                    "client_id": None,
                    "import_batch_id": None,
                    "tally_id": tally_id,
                    "event_id": None,
                }
                for line in lines
            ]
            await self._write(rows)
        return decided
