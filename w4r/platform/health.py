"""Liveness and readiness.

``/healthz`` answers while the process runs; ``/readyz`` only when the database answers and
its schema is at the migration head this code expects (a replica never serves a schema it
does not know).
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from w4r.platform.migrations import current_revision

READINESS_TIMEOUT_SECONDS = 3.0


async def readiness(engine: AsyncEngine, head: str) -> tuple[bool, dict[str, Any]]:
    try:
        current = await asyncio.wait_for(current_revision(engine), READINESS_TIMEOUT_SECONDS)
    except Exception as error:
        return False, {
            "status": "unavailable",
            "database": f"unreachable: {type(error).__name__}",
            "migrations": {"current": None, "head": head},
        }
    is_ready = current == head
    return is_ready, {
        "status": "ready" if is_ready else "unavailable",
        "database": "ok",
        "migrations": {"current": current, "head": head},
    }
