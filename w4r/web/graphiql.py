"""GraphiQL served by the app: strawberry's own page, loading its scripts from ``/assets``.

strawberry's GraphiQL page loads React, GraphiQL and the explorer plugin from a CDN, and on a
closed network it never gets past "Loading...". ``web/graphiql`` installs the same pinned
versions and ``scripts/build-web`` copies the very files the page names into
``static/graphiql/<package>@<version>/<path>``; here each CDN address of the installed
strawberry's template becomes the address of that copy. The integrity attributes stay, so
the browser still checks every file against the hash strawberry published.

When strawberry changes its template (new versions), the copies are missing and
:func:`graphiql_page` raises at startup, naming what to rebuild.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from strawberry.http.ides import get_graphql_ide_html

from w4r.web import ASSETS_PATH, STATIC_DIR, content_security_policy, page_headers

ASSETS_DIR: Final = STATIC_DIR / "graphiql"
"""Where ``scripts/build-web`` puts the files the page loads."""

CDN_ADDRESS: Final = re.compile(
    r'(?P<attribute>src|href)="https://[^"/]+/'
    r'(?P<asset>(?:@[\w.-]+/)?[\w.-]+@[\w.-]+/[^"]+)"'
)
"""A script or stylesheet of the template: ``https://<cdn>/<package>@<version>/<path>``."""

REFERENCE: Final = re.compile(r'\b(?:src|href)="(?P<url>[^"]*)"')


class GraphiQLAssetsError(RuntimeError):
    """strawberry's GraphiQL page needs a file the app does not have."""


def asset_url(asset: str) -> str:
    """The address the app serves ``<package>@<version>/<path>`` at."""
    return f"{ASSETS_PATH}/graphiql/{asset}"


def rewrite(template: str, assets_dir: Path = ASSETS_DIR) -> str:
    """``template`` with every CDN address replaced by the app's own copy; raises
    GraphiQLAssetsError if a copy is missing or an external address remains."""
    missing: list[str] = []

    def local(match: re.Match[str]) -> str:
        asset = match["asset"]
        if not (assets_dir / asset).is_file():
            missing.append(asset)
        return f'{match["attribute"]}="{asset_url(asset)}"'

    page = CDN_ADDRESS.sub(local, template)
    if missing:
        raise GraphiQLAssetsError(
            f"strawberry's GraphiQL page loads {', '.join(missing)}, which the app does not "
            "serve: pin those versions in web/graphiql/package.json and the files and hashes "
            "in web/graphiql/build.mjs, then run scripts/build-web."
        )
    external = [
        url
        for url in (match["url"] for match in REFERENCE.finditer(page))
        if not (url.startswith((f"{ASSETS_PATH}/", "data:")))
    ]
    if external:
        raise GraphiQLAssetsError(
            f"strawberry's GraphiQL page loads {', '.join(external)}, which is not served "
            "by the app: add it to web/graphiql/build.mjs and run scripts/build-web."
        )
    return page


INLINE_SCRIPT: Final = re.compile(r"<script>(?P<body>.*?)</script>", re.DOTALL)


@dataclass(frozen=True, slots=True)
class GraphiQLPage:
    """The page and what its Content-Security-Policy allows: the app's own scripts and the
    page's inline script by its hash (so no other inline script can run), inline styles
    (GraphiQL sets them), and images and fonts from the app or ``data:`` URLs (the
    favicon, the fonts inlined in GraphiQL's stylesheet)."""

    html: str
    script_hashes: tuple[str, ...]

    def headers(self, host_header: str | None) -> dict[str, str]:
        policy = content_security_policy(
            host_header,
            scripts=("'self'", *self.script_hashes),
            styles=("'self'", "'unsafe-inline'"),
            images=("'self'", "data:"),
            fonts=("'self'", "data:"),
        )
        return page_headers(policy)


def inline_script_hashes(page: str) -> tuple[str, ...]:
    """The CSP source of each inline script: ``'sha256-<base64>'``."""
    return tuple(
        "'sha256-{}'".format(
            base64.b64encode(hashlib.sha256(match["body"].encode()).digest()).decode()
        )
        for match in INLINE_SCRIPT.finditer(page)
    )


@functools.cache
def graphiql_page() -> GraphiQLPage:
    """The page, computed once from the installed strawberry's template."""
    page = rewrite(get_graphql_ide_html("graphiql"))
    return GraphiQLPage(page, inline_script_hashes(page))
