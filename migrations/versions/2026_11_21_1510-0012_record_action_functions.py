"""One round trip each for an idempotency key's check and for recording one action.

``actionRecord`` used to send some fifteen statements a call. Two functions now do the
ledger's part of it, in the caller's transaction, as the caller (SECURITY INVOKER: its
role, grants and row-level security apply, and the tenant binding of the transaction):

- ``w4r_idempotency_check(client, key)`` takes the key's transaction-scoped advisory lock
  without waiting and, only once it holds it, reads the stored key (a statement of its
  own, so it sees every transaction that released the lock);
- ``w4r_record_action(…)`` claims the idempotency key first and, when another
  transaction claimed it already, writes nothing and says so. Otherwise it inserts one
  ledger row and, unless it is flagged, adds it to one slot of the section's and of the
  worldwide rollups, sends the live-totals notice and leaves the milestone mark, in the
  order the batch path writes them, so concurrent writers take row locks in one order.
  Since a refusal comes before any write, the caller needs no savepoint around it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-21 15:10:00
"""

from collections.abc import Sequence

from alembic import op

from w4r.platform.database import APP_ROLE

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHECK_FUNCTION = "w4r_idempotency_check(text, text)"
CHECK = """
CREATE FUNCTION w4r_idempotency_check(p_client text, p_key text)
RETURNS TABLE (locked boolean, operation text, request_hash text, result_id uuid)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER AS $$
BEGIN
  IF NOT pg_try_advisory_xact_lock(hashtextextended(
      current_setting('w4r.section_id', true) || '/' || p_client || '/' || p_key, 0)) THEN
    RETURN QUERY SELECT false, NULL::text, NULL::text, NULL::uuid;
    RETURN;
  END IF;
  RETURN QUERY
    SELECT true, k.operation, k.request_hash, k.result_id
    FROM public.idempotency_keys k
    WHERE k.client_id = p_client AND k.key = p_key;
  IF NOT FOUND THEN
    RETURN QUERY SELECT true, NULL::text, NULL::text, NULL::uuid;
  END IF;
END
$$
"""

RECORD_FUNCTION = (
    "w4r_record_action(uuid, uuid, uuid, text, text, integer, timestamptz, date, text, "
    "text, text, text, text, text, smallint, smallint, text, text, text)"
)
RECORD = """
CREATE FUNCTION w4r_record_action(
  p_id uuid, p_campaign_id uuid, p_case_id uuid, p_action_type text, p_channel text,
  p_quantity integer, p_occurred_at timestamptz, p_counted_on date, p_verification text,
  p_reporter_kind text, p_reporter_ref text, p_method text, p_client_id text, p_flag text,
  p_rollup_slot smallint, p_mark_slot smallint,
  p_operation text, p_key text, p_request_hash text
)
RETURNS TABLE (recorded_at timestamptz, claimed boolean)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER AS $$
DECLARE
  new_keys integer;
BEGIN
  INSERT INTO public.idempotency_keys (client_id, key, operation, request_hash, result_id)
  VALUES (p_client_id, p_key, p_operation, p_request_hash, p_id)
  ON CONFLICT DO NOTHING;
  GET DIAGNOSTICS new_keys = ROW_COUNT;
  IF new_keys <> 1 THEN
    RETURN QUERY SELECT now(), false;
    RETURN;
  END IF;
  INSERT INTO public.actions (id, campaign_id, case_id, action_type, channel, quantity,
                              occurred_at, counted_on, verification, reporter_kind,
                              reporter_ref, method, client_id, flag)
  VALUES (p_id, p_campaign_id, p_case_id, p_action_type, p_channel, p_quantity,
          p_occurred_at, p_counted_on, p_verification, p_reporter_kind, p_reporter_ref,
          p_method, p_client_id, p_flag);
  IF p_flag IS NULL THEN
    INSERT INTO public.action_rollups AS r (campaign_id, case_id, action_type, channel,
                                            verification, day, slot, quantity, rows)
    VALUES (p_campaign_id, p_case_id, p_action_type, p_channel, p_verification,
            p_counted_on, p_rollup_slot, p_quantity, 1)
    ON CONFLICT (section_id, campaign_id, case_id, action_type, channel, verification, day,
                 slot)
    DO UPDATE SET quantity = r.quantity + EXCLUDED.quantity, rows = r.rows + EXCLUDED.rows;
    INSERT INTO public.case_rollups AS r (campaign_id, case_id, action_type, channel,
                                          verification, day, slot, quantity, rows)
    VALUES (p_campaign_id, p_case_id, p_action_type, p_channel, p_verification,
            p_counted_on, p_rollup_slot, p_quantity, 1)
    ON CONFLICT (campaign_id, case_id, action_type, channel, verification, day, slot)
    DO UPDATE SET quantity = r.quantity + EXCLUDED.quantity, rows = r.rows + EXCLUDED.rows;
    PERFORM pg_notify('w4r_totals',
                      json_build_object('campaign', p_campaign_id::text,
                                        'case', p_case_id::text)::text);
    INSERT INTO public.webhook_milestone_checks (campaign_id, case_id, slot)
    VALUES (p_campaign_id, p_case_id, p_mark_slot)
    ON CONFLICT (section_id, campaign_id, case_id, slot) DO UPDATE SET slot = EXCLUDED.slot;
  END IF;
  RETURN QUERY SELECT now(), true;
END
$$
"""


def upgrade() -> None:
    for function, body in ((CHECK_FUNCTION, CHECK), (RECORD_FUNCTION, RECORD)):
        op.execute(body)
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {function} TO {APP_ROLE}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {RECORD_FUNCTION}")
    op.execute(f"DROP FUNCTION {CHECK_FUNCTION}")
