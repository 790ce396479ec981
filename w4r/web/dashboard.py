"""The campaign dashboard's page: ``GET /dashboard`` (the International Secretariat's view of
every section) and ``GET /s/{code}/dashboard`` (one section's).

The page is a small HTML shell; the script built from ``web/dashboard/`` does the rest in
the browser, reading every number through the GraphQL API with the token the person pastes.
The shell carries no data, so it needs no credentials: it only tells the script its scope,
its GraphQL endpoint and its language. A section the path or host names must exist (404
otherwise), resolved as the GraphQL endpoint resolves it.
"""

from __future__ import annotations

import hashlib
import html
from functools import cache
from typing import Final

from babel import Locale
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response

from w4r.platform.errors import SectionResolutionError
from w4r.platform.languages import normalize_language_tag
from w4r.platform.negotiation import accepted_languages
from w4r.tenants.registry import SectionRef, SectionRegistry
from w4r.tenants.resolution import RequestHints, host_name, resolve_section
from w4r.web import ASSETS_PATH, STATIC_DIR, content_security_policy, page_headers

LANGUAGES: Final = ("en", "fr", "pl", "ar")
"""The languages of the dashboard's own labels (``web/dashboard/src/i18n.js``)."""

DEFAULT_LANGUAGE: Final = "en"
ASSETS: Final = ("dashboard.js", "dashboard.css", "icon.svg")
ASSET_FOLDER: Final = "dashboard"

_TITLES: Final = {
    "en": "Write for Rights dashboard",
    "fr": "Tableau de bord Écrire pour les droits",
    "pl": "Pulpit Maratonu Pisania Listów",
    "ar": "لوحة متابعة حملة اكتب من أجل الحقوق",
}
_NO_SCRIPT: Final = {
    "en": "The dashboard needs JavaScript.",
    "fr": "Le tableau de bord a besoin de JavaScript.",
    "pl": "Pulpit wymaga JavaScriptu.",
    "ar": "تحتاج لوحة المتابعة إلى JavaScript.",
}


def supported_language(tag: str) -> str | None:
    """The dashboard language that serves ``tag`` (``fr-CA`` -> ``fr``), if any."""
    try:
        canonical = normalize_language_tag(tag)
    except ValueError:
        return None
    language = canonical.split("-", 1)[0]
    return language if language in LANGUAGES else None


def page_language(
    requested: str | None, accept_language: str | None, section: SectionRef | None
) -> str:
    """The page's language: ``?lang=`` when the dashboard has it; else, at a section, the
    first of the browser's languages the section also speaks, then the section's default
    language; else the browser's first language the dashboard has; else English."""
    if requested and (language := supported_language(requested)) is not None:
        return language
    browser = [
        language
        for tag in accepted_languages(accept_language)
        if (language := supported_language(tag)) is not None
    ]
    if section is not None:
        spoken = {supported_language(tag) for tag in section.languages}
        for language in browser:
            if language in spoken:
                return language
        if (language := supported_language(section.default_language)) is not None:
            return language
    return browser[0] if browser else DEFAULT_LANGUAGE


def text_direction(language: str) -> str:
    """``rtl`` or ``ltr``, as the language's CLDR data says."""
    return "rtl" if Locale.parse(language).character_order == "right-to-left" else "ltr"


@cache
def asset_version(name: str) -> str:
    """A short hash of a built asset, appended to its URL so a browser never keeps a stale
    copy after an upgrade (the files keep fixed names for a reproducible build)."""
    return hashlib.sha256((STATIC_DIR / ASSET_FOLDER / name).read_bytes()).hexdigest()[:12]


def asset_url(name: str) -> str:
    return f"{ASSETS_PATH}/{ASSET_FOLDER}/{name}?v={asset_version(name)}"


def render_page(*, language: str, scope: str, endpoint: str) -> str:
    """The HTML shell; ``scope`` is ``global`` or a section code."""
    attributes = {
        "lang": language,
        "dir": text_direction(language),
        "data-scope": scope,
        "data-endpoint": endpoint,
    }
    html_attributes = " ".join(
        f'{name}="{html.escape(value, quote=True)}"' for name, value in attributes.items()
    )
    return (
        "<!doctype html>\n"
        f"<html {html_attributes}>\n"
        "<head>\n"
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="color-scheme" content="light">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{html.escape(_TITLES[language])}</title>\n"
        f'<link rel="icon" type="image/svg+xml" href="{asset_url("icon.svg")}">\n'
        f'<link rel="stylesheet" href="{asset_url("dashboard.css")}">\n'
        f'<script type="module" src="{asset_url("dashboard.js")}"></script>\n'
        "</head>\n"
        f"<body><noscript>{html.escape(_NO_SCRIPT[language])}</noscript></body>\n"
        "</html>\n"
    )


def _missing_assets() -> list[str]:
    return [name for name in ASSETS if not (STATIC_DIR / ASSET_FOLDER / name).is_file()]


async def dashboard_page(request: Request) -> Response:
    """``GET /dashboard`` and ``GET /s/{code}/dashboard``."""
    registry: SectionRegistry = request.app.state.graphql_services.registry
    code = request.path_params.get("code")
    hints = RequestHints(host=host_name(request.headers.get("host")), path_code=code)
    try:
        section = resolve_section(await registry.snapshot(), hints)
    except SectionResolutionError as error:
        return PlainTextResponse(f"{error}\n", status_code=error.status_code)
    missing = _missing_assets()
    if missing:
        return PlainTextResponse(
            f"The dashboard's assets are not built ({', '.join(missing)} missing): "
            "run scripts/build-web.\n",
            status_code=503,
        )
    language = page_language(
        request.query_params.get("lang"), request.headers.get("accept-language"), section
    )
    endpoint = "/graphql" if code is None or section is None else f"/s/{section.code}/graphql"
    page = render_page(
        language=language,
        scope="global" if section is None else section.code,
        endpoint=endpoint,
    )
    return HTMLResponse(
        page,
        headers={
            **page_headers(content_security_policy(request.headers.get("host"))),
            "Cache-Control": "no-cache",
            "Vary": "Accept-Language",
            "Content-Language": language,
        },
    )
