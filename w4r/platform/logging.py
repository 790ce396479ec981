"""Logs as JSON lines (production) or text (development), with no personal data.

:func:`configure_logging` installs one handler on the root logger. Every record it writes
carries the time, level, logger name and the request's ``request_id``, ``section`` and
``operation`` (context variables the GraphQL endpoint sets: :func:`request_log_context`,
:func:`bind_section`, :func:`bind_operation`; null outside a request).

Two filters sit on the handler, so they hold for every logger, ours and the libraries':

- :class:`RedactingFilter` renders each message and exception text once and removes what
  must never reach a log: bearer tokens and ``Authorization`` values, JWT-shaped strings,
  API keys (``w4r_…``), email addresses, GraphQL ``variables`` objects and SQL statement
  parameters. Mapping arguments (``logger.info("%s", variables)``) keep their keys only.
- :class:`AccessLogFilter` rewrites uvicorn's access lines without the client's address
  and without the query string (``GET /graphql?variables=…`` carries the caller's input).

SQLAlchemy's engine logger is held at WARNING whatever the level: at INFO it logs every
statement's parameters, which are supporters' personal data.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Final

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from w4r.settings import LogFormat

_REQUEST_ID: Final[ContextVar[str | None]] = ContextVar("w4r_log_request_id", default=None)
_SECTION: Final[ContextVar[str | None]] = ContextVar("w4r_log_section", default=None)
_OPERATION: Final[ContextVar[str | None]] = ContextVar("w4r_log_operation", default=None)

CONTEXT_FIELDS: Final = ("request_id", "section", "operation")
REDACTED: Final = "[redacted]"

QUIET_LOGGERS: Final = {"sqlalchemy.engine": logging.WARNING}
"""Loggers held at a level whatever the configured one (see the module docstring)."""
SERVER_LOGGERS: Final = ("uvicorn", "uvicorn.error", "uvicorn.access")
ACCESS_LOGGER: Final = "uvicorn.access"


# --- the request's context -------------------------------------------------------------------


@contextlib.contextmanager
def request_log_context(request_id: str) -> Iterator[None]:
    """Within the block, records carry ``request_id`` (and the section and operation bound
    later); afterwards the previous values return (a test client shares one task)."""
    tokens = (_REQUEST_ID.set(request_id), _SECTION.set(None), _OPERATION.set(None))
    try:
        yield
    finally:
        _OPERATION.reset(tokens[2])
        _SECTION.reset(tokens[1])
        _REQUEST_ID.reset(tokens[0])


def bind_section(code: str | None) -> None:
    """The request's section code (None: the global scope), until the request ends."""
    _SECTION.set(code)


def bind_operation(name: str | None) -> None:
    """The request's operation name, once its document is validated."""
    _OPERATION.set(name)


def log_context() -> dict[str, str | None]:
    return {
        "request_id": _REQUEST_ID.get(),
        "section": _SECTION.get(),
        "operation": _OPERATION.get(),
    }


class RequestContextFilter(logging.Filter):
    """Adds the request's context fields to every record (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for field, value in log_context().items():
            if not hasattr(record, field):
                setattr(record, field, value)
        return True


# --- redaction -----------------------------------------------------------------------------

_SCRUBBERS: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    # An Authorization header's value, in any rendering (a dict, a header line, k=v).
    (
        re.compile(
            r"""(?i)(\bauthorization['"]?\s*[:=,]\s*['"]?)"""
            r"""(?:(?:bearer|basic|token|digest)\s+)?[^\s'",;}\]]+"""
        ),
        r"\1" + REDACTED,
    ),
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+"), r"\1 " + REDACTED),
    # JWTs (JWS has three parts, JWE five), base64url of a JSON header: always "eyJ".
    (re.compile(r"\beyJ[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*){1,4}"), REDACTED),
    # API keys (w4r.apikeys.keys: "w4r_" and 49 base-62 characters; also a cut-off one, but
    # not role or metric names such as w4r_app, nor a key's 8-character display prefix).
    (re.compile(r"\bw4r_[A-Za-z0-9]{16,}"), REDACTED),
    # Variables in a URL's query string (GET /graphql?query=…&variables=…), of any client.
    (re.compile(r"(?i)([?&]variables=)[^&\s\"'#]*"), r"\1" + REDACTED),
    # Email addresses, Unicode local parts and domains included, also percent-encoded.
    (re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+(?:@|%40)[\w-]+(?:\.[\w-]+)+"), REDACTED),
    # graphql-core's coercion errors quote the value a variable was given.
    (re.compile(r"(got invalid value )(.+?)(?=; |$)", re.MULTILINE), r"\1" + REDACTED),
    # SQLAlchemy error texts end with the statement's parameters on a line of their own.
    (re.compile(r"(?m)^\[parameters: .*$"), "[parameters: " + REDACTED + "]"),
)
_VARIABLES_KEY: Final = re.compile(r"""(?i)(['"]?\bvariables['"]?\s*[:=]?\s*)([{\[])""")
_CLOSING: Final = {"{": "}", "[": "]"}


def _end_of_block(text: str, start: int) -> int:
    """The index just after the bracketed block opening at ``start`` (quotes respected);
    the end of the text when it is cut short."""
    opening = text[start]
    depth = 0
    quote: str | None = None
    index = start
    while index < len(text):
        character = text[index]
        if quote is not None:
            if character == "\\":
                index += 1
            elif character == quote:
                quote = None
        elif character in "\"'":
            quote = character
        elif character == opening:
            depth += 1
        elif character == _CLOSING[opening]:
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    return len(text)


def _without_variables(text: str) -> str:
    """Every ``variables: {…}`` (JSON, a Python dict, k=v, "variables {…}") with its
    object replaced."""
    parts: list[str] = []
    position = 0
    for match in _VARIABLES_KEY.finditer(text):
        if match.start() < position:
            continue  # inside a block already removed
        parts.append(text[position : match.end(1)] + REDACTED)
        position = _end_of_block(text, match.start(2))
    parts.append(text[position:])
    return "".join(parts)


def scrub(text: str) -> str:
    """``text`` without credentials, email addresses, variables or SQL parameters."""
    if "variables" in text.lower():
        text = _without_variables(text)
    for pattern, replacement in _SCRUBBERS:
        text = pattern.sub(replacement, text)
    return text


def _keys_only(value: Mapping[Any, Any]) -> str:
    """A mapping shown by its keys only: its values may be anybody's input."""
    return "{" + ", ".join(f"{key!r}: {REDACTED}" for key in value) + "}"


def _safe_argument(argument: object) -> object:
    return _keys_only(argument) if isinstance(argument, Mapping) else argument


class RedactingFilter(logging.Filter):
    """Renders the message, exception and stack once, scrubbed (see :func:`scrub`).

    The record leaves with ``args`` empty and ``exc_info`` replaced by its scrubbed
    ``exc_text``, so no later formatter can render the raw values again."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(self._message(record))
        record.args = None
        if record.exc_info:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        for field, value in list(vars(record).items()):
            if field not in _STANDARD_ATTRIBUTES:
                setattr(record, field, self._extra(value))
        return True

    @staticmethod
    def _message(record: logging.LogRecord) -> str:
        if isinstance(record.msg, Mapping):
            return _keys_only(record.msg)
        if isinstance(record.args, Mapping):
            if "%(" in str(record.msg):  # logger.info("%(name)s", {"name": …})
                record.args = {key: _safe_argument(value) for key, value in record.args.items()}
            else:  # logger.info("%s", variables): logging passes a lone mapping as args
                record.args = (_keys_only(record.args),)
        elif record.args:
            record.args = tuple(_safe_argument(argument) for argument in record.args)
        return record.getMessage()

    @staticmethod
    def _extra(value: object) -> object:
        """``extra={…}`` fields: strings scrubbed, mappings by their keys, plain values kept."""
        if isinstance(value, str):
            return scrub(value)
        if isinstance(value, Mapping):
            return _keys_only(value)
        if value is None or isinstance(value, bool | int | float):
            return value
        return scrub(str(value))


_STANDARD_ATTRIBUTES: Final = frozenset(
    {*vars(logging.LogRecord("", 0, "", 0, "", None, None)), "message", "asctime"}
)
"""What every record has; anything else came from ``extra={…}`` (or a filter)."""


# --- uvicorn's access log ------------------------------------------------------------------


class AccessLogFilter(logging.Filter):
    """uvicorn's access record ``'%s - "%s %s HTTP/%s" %d'`` (client, method, path with its
    query, version, status) becomes ``"GET /graphql HTTP/1.1" 200`` with ``http_method``,
    ``http_path`` and ``http_status`` fields: no client address, no query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name != ACCESS_LOGGER or not isinstance(record.args, tuple):
            return True
        if len(record.args) != 5:
            return True
        _client, method, full_path, version, status = record.args
        path = str(full_path).split("?", 1)[0]
        record.msg = '"%s %s HTTP/%s" %d'
        record.args = (method, path, version, status)
        record.http_method = method
        record.http_path = path
        record.http_status = status
        return True


# --- formatters and the handler ------------------------------------------------------------


class UtcJsonFormatter(JsonFormatter):
    """One JSON object per line: time (ISO 8601, UTC), level, logger, message, the context
    fields, any ``extra`` fields, and ``exc_info`` for an exception."""

    def __init__(self) -> None:
        super().__init__(
            "{asctime}{levelname}{name}{message}{request_id}{section}{operation}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            # uvicorn's extra "color_message" repeats the message with terminal colours.
            reserved_attrs=[*RESERVED_ATTRS, "color_message"],
            json_ensure_ascii=False,
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        moment = datetime.fromtimestamp(record.created, UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


TEXT_FORMAT: Final = (
    "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(section)s %(operation)s] %(message)s"
)


class TextFormatter(logging.Formatter):
    """One line per record; a context field that is not set (outside a request, or the
    global scope) reads ``-``."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        fields = log_context().keys()
        kept = {field: getattr(record, field, None) for field in fields}
        for field, value in kept.items():
            setattr(record, field, "-" if value is None else value)
        try:
            return super().format(record)
        finally:
            for field, value in kept.items():
                setattr(record, field, value)


def formatter_for(log_format: LogFormat) -> logging.Formatter:
    return UtcJsonFormatter() if log_format == "json" else TextFormatter()


def build_handler(log_format: LogFormat, stream: Any = None) -> logging.Handler:
    """A stream handler (stderr by default) with the filters every handler must have."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter_for(log_format))
    handler.addFilter(AccessLogFilter())
    handler.addFilter(RequestContextFilter())
    handler.addFilter(RedactingFilter())
    return handler


def configure_logging(log_format: LogFormat, level: str | int, stream: Any = None) -> None:
    """Replace the root logger's handlers with one of ``log_format`` at ``level``, and send
    uvicorn's loggers (its access log included) through it. Run uvicorn with
    ``log_config=None`` so it does not install handlers of its own."""
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)  # detached, not closed: its owner may still use it
    root.addHandler(build_handler(log_format, stream))
    root.setLevel(level)
    for name in SERVER_LOGGERS:
        server_logger = logging.getLogger(name)
        for existing in list(server_logger.handlers):
            server_logger.removeHandler(existing)
        server_logger.propagate = True
        server_logger.setLevel(logging.NOTSET)  # the root's level, until uvicorn sets its own
    for name, quiet_level in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(quiet_level)
