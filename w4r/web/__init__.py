"""The browser pages the app serves itself (the dashboard, GraphiQL) and every asset they
load: built from ``web/`` by ``scripts/build-web`` and committed under ``static/``, so a
deployment needs neither Node.js nor a CDN at run time."""

from __future__ import annotations

from pathlib import Path
from typing import Final

STATIC_DIR: Final = Path(__file__).resolve().parent / "static"
"""Built assets, one folder per page (``graphiql/``, ``dashboard/``)."""

ASSETS_PATH: Final = "/assets"
"""Where ``STATIC_DIR`` is served."""
