"""Structured logs: JSON lines with the request's context, and no personal data or secret in
any message, exception, extra field or access line, whatever the level."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.actions.test_ledger_api import NewSection, World, join, open_campaign
from tests.conftest import GraphQLClient
from tests.events.test_registrations_and_reports import (
    EVENT_REGISTER,
    create_event,
    event_input,
    registration_input,
)
from w4r.apikeys.keys import generate as generate_key
from w4r.platform.auth import Role
from w4r.platform.logging import (
    REDACTED,
    bind_operation,
    bind_section,
    configure_logging,
    request_log_context,
    scrub,
)

NAMED_QUERY = "query LoggedProbe { __typename }"
EMAIL = "ada.lovelace+w4r@example.org"
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "sqlalchemy.engine")


@pytest.fixture
def log_output() -> Iterator[Callable[[str, str], io.StringIO]]:
    """``log_output("json", "DEBUG")``: logging configured as ``w4r serve`` does, into a
    buffer; the previous configuration comes back after the test."""
    root = logging.getLogger()
    saved_root = (list(root.handlers), root.level)
    saved = {
        name: (logging.getLogger(name).level, logging.getLogger(name).propagate)
        for name in SERVER_LOGGERS
    }

    def configure(log_format: str, level: str) -> io.StringIO:
        buffer = io.StringIO()
        configure_logging(log_format, level, buffer)  # type: ignore[arg-type]
        return buffer

    yield configure
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved_root[0]:
        root.addHandler(handler)
    root.setLevel(saved_root[1])
    for name, (level, propagate) in saved.items():
        logging.getLogger(name).setLevel(level)
        logging.getLogger(name).propagate = propagate


def lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


# --- the fields --------------------------------------------------------------------------------


def test_a_json_line_has_time_level_logger_and_the_request_context(
    log_output: Callable[[str, str], io.StringIO],
) -> None:
    # given JSON logs
    buffer = log_output("json", "INFO")

    # when a line is logged in a request's context, and another outside any request
    with request_log_context("req-42"):
        bind_section("gb")
        bind_operation("caseList")
        logging.getLogger("w4r.test").warning("in a request")
    logging.getLogger("w4r.test").info("outside")

    # then each line is one JSON object with the fields, null outside a request
    inside, outside = lines(buffer)
    assert inside.keys() >= {"time", "level", "logger", "message"}
    assert inside["time"].endswith("Z")
    assert (inside["level"], inside["logger"], inside["message"]) == (
        "WARNING",
        "w4r.test",
        "in a request",
    )
    assert (inside["request_id"], inside["section"], inside["operation"]) == (
        "req-42",
        "gb",
        "caseList",
    )
    assert (outside["request_id"], outside["section"], outside["operation"]) == (None, None, None)


async def test_a_request_logs_its_id_section_and_operation(
    graphql: GraphQLClient,
    new_section: NewSection,
    log_output: Callable[[str, str], io.StringIO],
) -> None:
    # given a section and JSON logs at DEBUG
    code = (await new_section())["code"]
    buffer = log_output("json", "DEBUG")

    # when a named query is sent to the section's endpoint with a request id
    response = await graphql.post(NAMED_QUERY, section=code, headers={"x-request-id": "req-7"})

    # then the endpoint's line carries the request's id, section and operation
    assert response.status_code == 200
    answered = [line for line in lines(buffer) if line["logger"] == "w4r.schema.http"]
    assert [(line["request_id"], line["section"], line["operation"]) for line in answered] == [
        ("req-7", code, "LoggedProbe")
    ]
    assert answered[0]["message"].startswith("answered 200 in ")


def test_text_logs_carry_the_context_too(log_output: Callable[[str, str], io.StringIO]) -> None:
    # given text logs
    buffer = log_output("text", "INFO")

    # when a line is logged in a request's context
    with request_log_context("req-9"):
        bind_section("fr")
        logging.getLogger("w4r.test").info("hello")

    # then the line shows them, and "-" for what is not set
    assert "INFO w4r.test [req-9 fr -] hello" in buffer.getvalue()


# --- redaction ---------------------------------------------------------------------------------


def secrets_of(token_for: Callable[..., str]) -> dict[str, str]:
    return {
        "jwt": token_for(Role.IS_ADMIN),
        "api_key": generate_key(),
        "email": EMAIL,
        "name": "Ada Lovelace",
    }


def test_messages_exceptions_and_extras_are_redacted(
    token_for: Callable[..., str], log_output: Callable[[str, str], io.StringIO]
) -> None:
    # given JSON logs, a JWT, an API key, an email and a variables object
    buffer = log_output("json", "DEBUG")
    secret = secrets_of(token_for)
    variables = {"input": {"email": secret["email"], "name": secret["name"]}}
    logger = logging.getLogger("w4r.test")

    # when they are logged as arguments, in a message, in an exception and as extras
    logger.info("caller %s with key %s wrote from %s", secret["jwt"], secret["api_key"], EMAIL)
    logger.info("variables: %s", variables)
    logger.info("body %s", json.dumps({"query": "q", "variables": variables}))
    logger.info("header Authorization: Bearer %s", secret["jwt"])
    try:
        raise ValueError(f"refused {secret['api_key']} for {EMAIL} with variables {variables}")
    except ValueError:
        logger.exception("failed for %s", secret["jwt"])
    logger.info("extra", extra={"variables": variables, "who": EMAIL})

    # then none of them is in the output, where the redaction marks stand instead
    output = buffer.getvalue()
    for value in secret.values():
        assert value not in output
    assert "Bearer" not in output.replace(f"Bearer {REDACTED}", "")
    records = lines(buffer)
    assert len(records) == 6
    assert records[0]["message"] == f"caller {REDACTED} with key {REDACTED} wrote from {REDACTED}"
    assert records[1]["message"] == f"variables: {REDACTED}"
    assert records[2]["message"] == f'body {{"query": "q", "variables": {REDACTED}}}'
    assert records[4]["exc_info"].endswith(
        f"ValueError: refused {REDACTED} for {REDACTED} with variables {REDACTED}"
    )
    assert (records[5]["variables"], records[5]["who"]) == (f"{{'input': {REDACTED}}}", REDACTED)


def test_scrub_removes_each_kind_and_keeps_the_rest() -> None:
    # given a text with every kind of secret between ordinary words
    text = (
        "user ada@example.org key=w4r_abc123XYZabc123XYZ role=w4r_app "
        "jwt=eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln "
        'headers={"Authorization": "Basic YWRhOnB3"} variables={"a": {"b": "}"}} done\n'
        "[parameters: ('Ada Lovelace', 'ada@example.org')]"
    )

    # when it is scrubbed
    scrubbed = scrub(text)

    # then each is replaced and the rest stays
    assert scrubbed == (
        f"user {REDACTED} key={REDACTED} role=w4r_app jwt={REDACTED} "
        f'headers={{"Authorization": "{REDACTED}"}} variables={REDACTED} done\n'
        f"[parameters: {REDACTED}]"
    )


def test_the_access_log_has_no_client_address_and_no_query_string(
    log_output: Callable[[str, str], io.StringIO],
) -> None:
    # given JSON logs
    buffer = log_output("json", "INFO")

    # when uvicorn logs a GET that carries its variables in the query string
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d',
        "203.0.113.9:53211",
        "GET",
        "/graphql?query=q&variables=%7B%22email%22%3A%22ada%40example.org%22%7D",
        "1.1",
        200,
    )

    # then the line has the method, the path alone and the status
    (line,) = lines(buffer)
    assert line["message"] == '"GET /graphql HTTP/1.1" 200'
    assert (line["http_method"], line["http_path"], line["http_status"]) == ("GET", "/graphql", 200)
    assert "203.0.113.9" not in buffer.getvalue()
    assert "variables" not in buffer.getvalue()


# --- a whole request at DEBUG --------------------------------------------------------------


@pytest.fixture(scope="module")
async def world(module_graphql: GraphQLClient) -> World:
    return await open_campaign(module_graphql, featured=1)


async def test_a_registration_at_debug_logs_no_personal_data(
    graphql: GraphQLClient,
    new_section: NewSection,
    world: World,
    log_output: Callable[[str, str], io.StringIO],
) -> None:
    # given a published event, and logs at DEBUG (SQL included, were it not held back)
    code = (await new_section())["code"]
    await join(graphql, code, world)
    event_id = await create_event(graphql, code, event_input(world.year, capacity=5))
    buffer = log_output("json", "DEBUG")

    # when a visitor registers with their name and email, also over GET (refused: a mutation)
    values = registration_input(event_id, EMAIL, "device-1", name="Grace Hopper")
    data = await graphql.data(EVENT_REGISTER, {"input": values}, section=code)
    await graphql.http.get(
        f"/s/{code}/graphql",
        params={"query": EVENT_REGISTER, "variables": json.dumps({"input": values})},
    )

    # then the registration succeeded, was logged, and no record holds the email or name
    assert data["eventRegister"]["errors"] == []
    output = buffer.getvalue()
    assert any(line["section"] == code for line in lines(buffer))
    assert EMAIL not in output
    assert "ada.lovelace" not in output
    assert "Grace Hopper" not in output
