"""The browser pages the app serves itself (the dashboard, GraphiQL) and every asset they
load: built from ``web/`` by ``scripts/build-web`` and committed under ``static/``, so a
deployment needs neither Node.js nor a CDN at run time."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Final

STATIC_DIR: Final = Path(__file__).resolve().parent / "static"
"""Built assets, one folder per page (``graphiql/``, ``dashboard/``)."""

ASSETS_PATH: Final = "/assets"
"""Where ``STATIC_DIR`` is served."""

_HOST_CHARACTERS: Final = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-:[]")


def safe_host(header: str | None) -> str | None:
    """The Host header when it is a plain host[:port], to name in a policy; else None."""
    if not header or len(header) > 255:
        return None
    host = header.strip().lower()
    return host if host and set(host) <= _HOST_CHARACTERS else None


def content_security_policy(
    host_header: str | None,
    *,
    scripts: Sequence[str] = ("'self'",),
    styles: Sequence[str] = ("'self'",),
    images: Sequence[str] = ("'self'",),
    fonts: Sequence[str] = (),
) -> str:
    """A page's policy: nothing but the sources named, requests to the app itself over
    HTTP and to its websocket (named explicitly: older browsers do not count ws: as
    'self'), no base URL, forms only to itself, never framed."""
    host = safe_host(host_header)
    sockets = f" ws://{host} wss://{host}" if host else ""
    directives = [
        "default-src 'none'",
        f"script-src {' '.join(scripts)}",
        f"style-src {' '.join(styles)}",
        f"img-src {' '.join(images)}",
        *([f"font-src {' '.join(fonts)}"] if fonts else []),
        f"connect-src 'self'{sockets}",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


def page_headers(content_security_policy: str) -> dict[str, str]:
    """The security headers of every page the app serves."""
    return {
        "Content-Security-Policy": content_security_policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }
