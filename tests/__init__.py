"""The test suite, a regular package so that ``tests.support`` (imported by the benchmark scripts)
is this one even where an installed distribution ships a top-level ``tests`` package (ppi-python
does). pytest puts this folder on ``sys.path`` too (``pythonpath`` in pyproject.toml), so the test
modules import their helpers as ``support``."""
