"""Loaded first (pytest.ini: `-p tests.embedded_env`), before pytest-django reads the
settings: the tests run on the embedded default, which asks for DEBUG explicitly (the
production settings are tested in subprocesses, tests/test_security.py)."""

import os

os.environ.setdefault("DJANGO_DEBUG", "1")
