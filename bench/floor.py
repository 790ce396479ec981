"""The floor of the side-by-side benchmark: the partner case list with nothing but
hand-written SQL on asyncpg, in a plain Starlette app.

    FLOOR_DATABASE_URL=postgresql://... python -m uvicorn --app-dir bench --factory \
        floor:create_app --host 127.0.0.1 --port 8001

``POST /cases`` with ``{"campaign": <year>, "language": "<tag>", "first": <n>}`` answers
the same JSON shape as w4r's partner query (``data.cases.edges[].node``) in three
statements: the page of published cases with their text in the language (else the source
text), their appeal targets and outcomes, and their totals. No authentication, no
validation beyond types, no fallback chain and no GraphQL: what is left is the least any
server must do to answer this request, which is what makes it a floor.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

PAGE_LIMIT = 50

CASES_SQL = """
SELECT c.id, c.slug, c.subject_name, c.country, c.themes,
       coalesce(t.language, s.language) AS language,
       coalesce(t.title, s.title) AS title,
       coalesce(t.summary, s.summary) AS summary,
       coalesce(t.story, s.story) AS story,
       coalesce(t.demands, s.demands) AS demands,
       k.id AS campaign_id
FROM campaigns k
JOIN case_campaigns cc ON cc.campaign_id = k.id
JOIN cases c ON c.id = cc.case_id AND c.status = 'published'
LEFT JOIN case_texts t ON t.case_id = c.id AND t.language = $2 AND t.status = 'published'
LEFT JOIN case_texts s ON s.case_id = c.id AND s.is_source
WHERE k.year = $1
ORDER BY cc.position, c.id
LIMIT $3
"""
DETAILS_SQL = """
SELECT ids.id,
       (SELECT coalesce(json_agg(json_build_object(
                 'name', a.name, 'title', a.title, 'email', a.email) ORDER BY a.position), '[]')
          FROM case_appeal_targets a WHERE a.case_id = ids.id) AS targets,
       (SELECT coalesce(json_agg(json_build_object(
                 'kind', upper(replace(o.kind::text, '-', '_')),
                 'occurredOn', o.occurred_on,
                 'datePrecision', upper(o.date_precision::text),
                 'description', o.description) ORDER BY o.occurred_on, o.id), '[]')
          FROM case_outcomes o WHERE o.case_id = ids.id) AS outcomes
FROM unnest($1::uuid[]) AS ids(id)
"""
TOTALS_SQL = """
SELECT case_id,
       coalesce(sum(quantity), 0) AS quantity,
       coalesce(sum(quantity) FILTER (WHERE verification = 'verified'), 0) AS verified
FROM case_rollups
WHERE campaign_id = $1 AND case_id = ANY($2::uuid[])
GROUP BY case_id
"""


async def case_list(pool: asyncpg.Pool, year: int, language: str, first: int) -> dict[str, Any]:
    async with pool.acquire() as connection:
        cases = await connection.fetch(CASES_SQL, year, language, first)
        ids = [row["id"] for row in cases]
        details = {row["id"]: row for row in await connection.fetch(DETAILS_SQL, ids)}
        totals: dict[Any, asyncpg.Record] = {}
        if cases:
            rows = await connection.fetch(TOTALS_SQL, cases[0]["campaign_id"], ids)
            totals = {row["case_id"]: row for row in rows}
    edges = []
    for row in cases:
        detail = details[row["id"]]
        total = totals.get(row["id"])
        quantity = int(total["quantity"]) if total else 0
        verified = int(total["verified"]) if total else 0
        edges.append(
            {
                "node": {
                    "id": str(row["id"]),
                    "slug": row["slug"],
                    "subjectName": row["subject_name"],
                    "country": row["country"],
                    "themes": [theme.upper().replace("-", "_") for theme in row["themes"]],
                    "text": {
                        "language": row["language"],
                        "title": row["title"],
                        "summary": row["summary"],
                        "story": row["story"],
                        "demands": row["demands"],
                    },
                    "appealTargets": json.loads(detail["targets"]),
                    "outcomes": json.loads(detail["outcomes"]),
                    "totals": {
                        "quantity": quantity,
                        "verified": verified,
                        "selfReported": quantity - verified,
                    },
                }
            }
        )
    return {"data": {"cases": {"edges": edges}}}


async def cases_endpoint(request: Request) -> Response:
    body = await request.json()
    try:
        year = int(body["campaign"])
        language = str(body["language"])
        first = min(int(body.get("first", PAGE_LIMIT)), PAGE_LIMIT)
    except (KeyError, TypeError, ValueError):
        return JSONResponse({"error": "expected campaign, language and first"}, 400)
    return JSONResponse(await case_list(request.app.state.pool, year, language, first))


def create_app() -> Starlette:
    """The app, its pool (as large as w4r's default, 10 + 5) opened by the lifespan."""
    url = os.environ["FLOOR_DATABASE_URL"]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=15)
        app.state.pool = pool
        try:
            yield
        finally:
            await pool.close()

    return Starlette(routes=[Route("/cases", cases_endpoint, methods=["POST"])], lifespan=lifespan)
