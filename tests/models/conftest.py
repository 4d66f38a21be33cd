"""Fixtures of the regressor tests: ``tiny_set`` and ``tiny_config`` live in tests/conftest.py (shared with
tests/reliability)."""
