"""Other people's tools the suite runs against w4r: Node packages, helm, PgBouncer.

A fresh machine with only Python runs the suite without them: their tests are skipped,
saying what is missing. CI installs them all and sets ``W4R_REQUIRE_INTEROP=1``, and then a
missing tool fails the test instead, so the checks can never be skipped silently there.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Final, NoReturn

import pytest

REQUIRE_VARIABLE: Final = "W4R_REQUIRE_INTEROP"
INTEROP: Final = Path(__file__).resolve().parent.parent / "interop"
"""The Node project (package.json, package-lock.json) of the interoperability checks."""


def missing(what: str, how: str) -> NoReturn:
    """Skip the test (fail it under ``W4R_REQUIRE_INTEROP=1``): ``what`` is not here."""
    message = f"{what} is not installed ({how})"
    if os.environ.get(REQUIRE_VARIABLE) == "1":
        pytest.fail(message)
    pytest.skip(message)


def executable(name: str, how: str) -> str:
    """The path of the program ``name``: on PATH or next to this Python (a venv's bin)."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found is None:
        missing(name, how)
    return found


def node() -> str:
    """The ``node`` program, once the interop packages are installed."""
    program = executable("node", "install Node.js 18 or newer")
    if not (INTEROP / "node_modules").is_dir():
        missing("the interop Node packages", "run `npm ci --prefix interop`")
    return program
