"""Behaviour suites every backend runs: a backend's test module plugs its fixture into them."""

import pytest

# The suites live outside test_*.py files; let pytest rewrite their asserts all the same.
pytest.register_assert_rewrite("tests.contracts.event_store")
