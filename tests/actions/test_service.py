"""The ledger service's pure parts: the content hash of an import row."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from dateutil import tz

from w4r.actions.drafts import ActionDraft
from w4r.actions.models import ActionType, Verification
from w4r.actions.service import import_row_hash, request_hash

MOMENTS = [
    datetime(2025, 11, 21, 10, 11, 12, tzinfo=UTC),
    datetime(2025, 11, 21, 10, 11, 12, 123456, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    datetime(2025, 12, 1, 0, 0, tzinfo=tz.tzoffset(None, -8 * 3600)),
    datetime(2025, 12, 1, 0, 0, 0, 1000, tzinfo=tz.UTC),
]


@pytest.mark.parametrize("moment", MOMENTS)
@pytest.mark.parametrize("action_type", list(ActionType))
@pytest.mark.parametrize("verification", list(Verification))
def test_an_import_rows_hash_is_its_request_hash(
    moment: datetime, action_type: ActionType, verification: Verification
) -> None:
    # given an import row
    draft = ActionDraft(
        campaign_year=2025,
        case_id=uuid.uuid4(),
        action_type=action_type,
        idempotency_key="k",
        occurred_at=moment,
        quantity=100_000,
        verification=verification,
    )

    # when its content hash is computed directly
    digest = import_row_hash(draft, moment)

    # then it is the hash stored for such rows so far (replays of old batches still match)
    assert digest == request_hash(
        "actionsImport",
        {
            "campaign": draft.campaign_year,
            "case": str(draft.case_id),
            "type": action_type.value,
            "occurredAt": moment.isoformat(),
            "quantity": draft.quantity,
            "verification": verification.value,
        },
    )
