"""Helpers for the report tests: a synthetic run folder and a headless-Chromium driver."""
