"""Schemathesis against the service's own OpenAPI schema: no 5xx, responses match the schema.

The schemathesis pytest plugin does not work with pytest 9, so each operation is driven by
hypothesis directly from the operation's case strategy; every failure is collected and reported
together with the operation that produced it.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)

pytestmark = pytest.mark.slow

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def test_api_never_fails_on_generated_input(app: FastAPI, auth: dict[str, dict[str, str]]) -> None:
    """Whatever a client sends, the answer is a clear 4xx or a success matching the schema."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=12,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: Any) -> None:
            case.call_and_validate(headers=auth["admin"], checks=CHECKS)

        try:
            run()
        except Exception as exc:  # collected and reported below
            failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:800]}")
    assert operations > 10
    assert not failures, "\n\n".join(failures)
