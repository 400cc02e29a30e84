"""Loaded first (pytest.ini: `-p tests.embedded_env`), before pytest-django reads the
settings: the tests run on the embedded default, which asks for DEBUG explicitly (the
production settings are tested in subprocesses, tests/config/test_settings.py), with a fast
password hash. The model server and refine workers the suite starts answer tests that wait
on them while the suite keeps both cores busy: they run at normal priority here (the
launcher's nice level is tested with a level of its own, tests/analysis/test_local_model.py)."""

import os

os.environ.setdefault("DJANGO_DEBUG", "1")
os.environ.setdefault("DALLOSH_TEST_FAST_PASSWORD_HASHER", "1")  # inherited by the servers tests start
os.environ.setdefault("DALLOSH_REFINE_NICE", "0")
os.environ.setdefault("DALLOSH_HEADS_RELOAD_S", "2")  # a rollback reaches the tests' workers in seconds
