"""Fixtures for the end-to-end tests.

`sealed_stack` (one per session) is Azurite plus the host in sealed-table mode, shared by
the tests that do not stop or reconfigure servers; they use unique app names and look
their apps up by uuid. `stacks` gives a test its own servers for anything that stops,
restarts or reconfigures them.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.api import ApiClient
from support.stack import (StackFactory, missing_build_message, new_seal_key,
                           sealed_table_environment)

FIXTURES_DIR = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


def print_logs_if_failed(request, factory):
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        print(factory.log_tails())


@pytest.fixture(scope="session")
def built_product():
    message = missing_build_message()
    if message:
        pytest.fail(message, pytrace=False)


@pytest.fixture(scope="session")
def otpauth_cases():
    return json.loads((FIXTURES_DIR / "otpauth-uris.json").read_text())["cases"]


@dataclass
class SealedStack:
    azurite: object
    host: object
    seal_key: str
    tables: object


@pytest.fixture(scope="session")
def sealed_stack(built_product, tmp_path_factory):
    factory = StackFactory(tmp_path_factory.mktemp("sealed-stack"))
    try:
        azurite = factory.azurite()
        seal_key = new_seal_key()
        host = factory.host(sealed_table_environment(azurite, seal_key))
        yield SealedStack(azurite, host, seal_key, factory.table_client(azurite))
    finally:
        factory.stop_all()


@pytest.fixture
def api(sealed_stack):
    return ApiClient(sealed_stack.host.base_url)


@pytest.fixture
def stacks(built_product, tmp_path, request):
    factory = StackFactory(tmp_path)
    yield factory
    print_logs_if_failed(request, factory)
    factory.stop_all()


@pytest.fixture
def stacks_without_build(tmp_path, request):
    """Servers that do not need the product (Azurite and the Key Vault test server)."""
    factory = StackFactory(tmp_path)
    yield factory
    print_logs_if_failed(request, factory)
    factory.stop_all()
