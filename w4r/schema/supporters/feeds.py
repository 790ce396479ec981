"""A petition's signatures as CSV, for delivery to the authorities.

``GET /s/<code>/petitions/<caseId>/signatures.csv[?campaign=<year>]`` with a bearer token
of the section's admin: one row per counted signature whose signer consents (confirmed,
not withdrawn) to their name being handed over with this case's petition: name, country
and the day signed (in the section's time zone). Nothing else leaves: no email, no id.

The CSV follows RFC 4180 (CRLF, every field quoted) and is safe to open in a spreadsheet:
a cell that starts with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return) is
prefixed with an apostrophe, so a name can never run as a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from uuid import UUID

from starlette.requests import Request
from starlette.responses import Response

from w4r.platform.auth import MalformedCredentialsError, Role, TokenError
from w4r.platform.errors import SectionResolutionError
from w4r.schema.context import GraphQLServices
from w4r.schema.http import authenticate, build_context
from w4r.schema.supporters.mutations import context_supporter_service
from w4r.supporters.service import DeliveryRow

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
HEADER = ("name", "country", "signed_on")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    """The value, with an apostrophe first when a spreadsheet would read it as a formula."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def render_csv(rows: Sequence[DeliveryRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow([safe_cell(row.name), safe_cell(row.country), row.signed_on.isoformat()])
    return buffer.getvalue()


def _text(body: str, status_code: int, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code, headers=headers, media_type="text/plain")


async def petition_signatures(request: Request) -> Response:
    services: GraphQLServices = request.app.state.graphql_services
    try:
        case_id = UUID(str(request.path_params.get("case_id")))
    except ValueError:
        return _text("Not a case id.", 404)
    campaign = request.query_params.get("campaign")
    if campaign is not None and not campaign.isdigit():
        return _text("campaign is a year, e.g. ?campaign=2026.", 400)
    try:
        principal = await authenticate(request, services)
    except TokenError as error:
        status = 400 if isinstance(error, MalformedCredentialsError) else 401
        header = {"WWW-Authenticate": f'Bearer error="{error.oauth_error}"'}
        return _text(str(error), status, header)
    if principal.is_anonymous:
        return _text("Send the section admin's bearer token.", 401, {"WWW-Authenticate": "Bearer"})
    try:
        context = await build_context(request, principal, services)
    except SectionResolutionError as error:
        return _text(str(error), error.status_code)
    try:
        section = context.section
        if section is None:
            return _text("Ask a section's list: /s/<code>/petitions/<caseId>/signatures.csv", 404)
        if principal.role is not Role.SECTION_ADMIN or principal.section_code != section.code:
            return _text("Only the section's admins may download signatures.", 403)
        service = await context_supporter_service(context)
        rows = await service.delivery_list(case_id, None if campaign is None else int(campaign))
    finally:
        await context.unit_of_work.close()
    context.audit.export("petition-signatures", [case_id])
    await context.audit.write()
    filename = f"signatures-{section.code}-{case_id}.csv"
    return Response(
        render_csv(rows),
        media_type=CSV_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
