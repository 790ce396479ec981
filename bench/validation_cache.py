"""Does the ValidationCache hit? Guard rules built once vs. strawberry's per-request limiters.

strawberry's QueryDepthLimiter and MaxAliasesLimiter create a new validation rule class per
instance. Passed as per-request factories (as strawberry recommends for extensions), the rule
tuple differs on every request and the validation cache never hits. w4r builds the rules
once per schema (w4r.schema.api.guard_rules). This measures both on the same document.

    python bench/validation_cache.py [--iterations 3000] [--rounds 5]

Prints operations per second (median of the rounds) and writes
bench/results/validation_cache.json.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import strawberry
from strawberry.extensions import (
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig

from w4r.platform.auth import ANONYMOUS
from w4r.schema.api import Mutation, Query, W4RSchema, build_schema, guard_rules
from w4r.schema.errors import should_mask_error
from w4r.settings import Settings

DOCUMENT = """
query Viewer {
  viewer { role subject sectionCode }
  a: viewer { role }
  b: viewer { role }
}
"""


def per_request_limiters(settings: Settings) -> strawberry.Schema:
    """The same guards, with the limiters constructed per request."""
    extensions: list[Callable[[], SchemaExtension]] = [
        functools.partial(MaxTokensLimiter, max_token_count=settings.max_tokens),
        functools.partial(QueryDepthLimiter, max_depth=settings.max_query_depth),
        functools.partial(MaxAliasesLimiter, max_alias_count=settings.max_aliases),
        functools.partial(ParserCache, maxsize=settings.document_cache_size),
        functools.partial(ValidationCache, maxsize=settings.document_cache_size),
        functools.partial(MaskErrors, should_mask_error=should_mask_error),
    ]
    return W4RSchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(),
        guard=guard_rules(settings),
    )


async def operations_per_second(schema: strawberry.Schema, iterations: int) -> float:
    context = SimpleNamespace(principal=ANONYMOUS)
    result = await schema.execute(DOCUMENT, context_value=context)
    assert result.errors is None, result.errors
    started = time.perf_counter()
    for _ in range(iterations):
        await schema.execute(DOCUMENT, context_value=context)
    return iterations / (time.perf_counter() - started)


async def main(iterations: int, rounds: int) -> dict[str, Any]:
    settings = Settings(_env_file=None)
    schemas = {
        "rules_built_once": build_schema(settings),
        "limiters_per_request": per_request_limiters(settings),
    }
    samples: dict[str, list[float]] = {name: [] for name in schemas}
    for _ in range(rounds):  # interleaved, so drift affects both alike
        for name, schema in schemas.items():
            samples[name].append(await operations_per_second(schema, iterations))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    return {
        "benchmark": "validation_cache",
        "python": platform.python_version(),
        "iterations_per_round": iterations,
        "rounds": rounds,
        "operations_per_second_median": medians,
        "samples": samples,
        "speedup": medians["rules_built_once"] / medians["limiters_per_request"],
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    report = asyncio.run(main(arguments.iterations, arguments.rounds))
    output = Path(__file__).parent / "results" / "validation_cache.json"
    output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for name, value in report["operations_per_second_median"].items():
        print(f"{name:24} {value:9.0f} operations/s")
    print(f"{'speedup':24} {report['speedup']:9.2f}x   (raw: bench/results/{output.name})")
