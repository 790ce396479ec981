"""The Dockerfile follows the image rules: multi-stage, pinned bases, non-root, exec form.

No image can be built in the test run (that needs a registry), so the Dockerfile is parsed
and its instructions checked: what a reviewer would check by eye, made repeatable.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pytest

PROJECT_ROOT: Final = Path(__file__).resolve().parent.parent.parent
DOCKERFILE: Final = PROJECT_ROOT / "Dockerfile"
DOCKERIGNORE: Final = PROJECT_ROOT / ".dockerignore"

PINNED_TAG: Final = re.compile(r"^[a-z0-9./_-]+:\d+\.\d+\.\d+[a-z0-9.-]*(@sha256:[0-9a-f]{64})?$")
"""``name:MAJOR.MINOR.PATCH[-variant]``, optionally with a digest: never ``latest`` or ``3``."""


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [item for item in self.instructions if item.keyword == keyword]


def instructions(text: str) -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    result: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        result.append(Instruction(keyword.upper(), " ".join(arguments.split())))
        pending = ""
    assert not pending, "the Dockerfile ends in a continuation line"
    return result


def stages(text: str) -> list[Stage]:
    found: list[Stage] = []
    for instruction in instructions(text):
        if instruction.keyword == "FROM":
            words = instruction.arguments.split()
            assert not words[0].startswith("--"), f"FROM with a flag: {instruction}"
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            assert len(words) in (1, 3), f"unexpected FROM: {instruction}"
            found.append(Stage(image=words[0], name=name))
        else:
            assert found, f"{instruction.keyword} before the first FROM"
            found[-1].instructions.append(instruction)
    return found


def exec_form(instruction: Instruction) -> list[str]:
    """The JSON array of an exec-form instruction (a shell form fails the test)."""
    try:
        value = json.loads(instruction.arguments)
    except json.JSONDecodeError:
        pytest.fail(f"{instruction.keyword} is not in exec (JSON array) form: {instruction}")
    assert isinstance(value, list)
    assert all(isinstance(item, str) for item in value)
    return value


def environment(stage: Stage) -> dict[str, str]:
    """The ``ENV key=value`` pairs of a stage (quotes removed)."""
    pairs: dict[str, str] = {}
    for instruction in stage.all("ENV"):
        for key, value in re.findall(
            r'([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)', instruction.arguments
        ):
            pairs[key] = value.strip('"')
    return pairs


@pytest.fixture(scope="module")
def parsed() -> list[Stage]:
    return stages(DOCKERFILE.read_text(encoding="utf-8"))


def test_it_is_multi_stage_with_a_named_builder(parsed: list[Stage]) -> None:
    # then there is a builder stage and a final stage
    assert len(parsed) >= 2
    assert parsed[0].name == "builder"
    # and the builder builds a wheel with pip and installs it into a virtual environment
    builder_runs = " ".join(item.arguments for item in parsed[0].all("RUN"))
    assert "pip wheel" in builder_runs
    assert "-m venv" in builder_runs
    assert "install" in builder_runs


def test_every_base_image_is_pinned_to_an_exact_slim_python(parsed: list[Stage]) -> None:
    for stage in parsed:
        # then each base is a slim Python image with an exact version (and never latest)
        assert PINNED_TAG.match(stage.image), f"base image not pinned: {stage.image}"
        assert stage.image.startswith("python:3.1")
        assert "-slim" in stage.image
    # and the final stage runs on the interpreter the builder's venv links to
    assert parsed[-1].image == parsed[0].image


def test_the_final_stage_holds_only_the_virtual_environment(parsed: list[Stage]) -> None:
    final = parsed[-1]

    # then the final stage copies nothing from the build context, only the builder's venv
    copies = final.all("COPY")
    assert [item.arguments for item in copies] == ["--from=builder /opt/w4r /opt/w4r"]
    assert final.all("ADD") == []
    # and the venv is on the PATH
    assert environment(final)["PATH"].startswith("/opt/w4r/bin:")


def test_the_final_stage_runs_as_a_fixed_numeric_non_root_user(parsed: list[Stage]) -> None:
    final = parsed[-1]

    # then the last USER of the final stage is a numeric UID:GID other than root
    users = final.all("USER")
    assert users, "the final stage has no USER"
    match = re.fullmatch(r"(\d+)(?::(\d+))?", users[-1].arguments)
    assert match is not None, f"USER is not numeric: {users[-1].arguments}"
    assert int(match[1]) == 10001
    assert match[2] is None or int(match[2]) == 10001
    # and nothing after it switches back
    after = final.instructions[final.instructions.index(users[-1]) + 1 :]
    assert all(item.keyword != "USER" for item in after)


def test_it_starts_w4r_serve_in_exec_form_on_port_8000(parsed: list[Stage]) -> None:
    final = parsed[-1]

    # then the entrypoint is the w4r command and the default command serves
    assert exec_form(final.all("ENTRYPOINT")[-1]) == ["w4r"]
    assert exec_form(final.all("CMD")[-1]) == ["serve"]
    assert [item.arguments for item in final.all("EXPOSE")] == ["8000"]
    # and the server listens on every interface, on that port
    env = environment(final)
    assert env["W4R_HOST"] == "0.0.0.0"
    assert env["W4R_PORT"] == "8000"


def test_python_writes_no_bytecode_and_does_not_buffer(parsed: list[Stage]) -> None:
    env = environment(parsed[-1])

    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["PYTHONUNBUFFERED"] == "1"
    # and the one writable directory is configurable and outside the code
    assert env["W4R_DATA_DIR"] == "/var/lib/w4r"


def test_nothing_is_added_from_a_url(parsed: list[Stage]) -> None:
    for stage in parsed:
        for instruction in stage.all("ADD"):
            assert not re.search(r"\b(https?|git)://", instruction.arguments), instruction
        for instruction in stage.all("RUN"):
            # nor fetched and piped into a shell
            assert not re.search(r"(curl|wget)\b.*\|\s*(ba)?sh", instruction.arguments), instruction


def test_the_build_context_is_an_allow_list() -> None:
    lines = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]

    # then everything is excluded first, and only the wheel's sources are let back in
    assert lines[0] == "*"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert allowed == {"pyproject.toml", "README.md", "alembic.ini", "migrations", "w4r"}


def test_the_parser_sees_shell_forms_and_unpinned_images() -> None:
    # given a Dockerfile that breaks the rules (the checks above must be able to fail)
    broken = stages("FROM python:latest\nUSER root\nENTRYPOINT w4r serve\n")

    # then the tag is not pinned, the user not numeric and the entrypoint not exec form
    assert PINNED_TAG.match(broken[0].image) is None
    assert re.fullmatch(r"\d+(:\d+)?", broken[0].all("USER")[0].arguments) is None
    with pytest.raises(pytest.fail.Exception):
        exec_form(broken[0].all("ENTRYPOINT")[0])
