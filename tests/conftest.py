"""Shared pytest configuration."""
pytest_plugins = ["_weights_fixtures"]
