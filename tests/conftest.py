"""Shared fixtures: one data folder per test session, so synthetic sets and edge nets are made once."""

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def session_data_dir(tmp_path_factory):
    """Point the suite's data folder (synthetic sets, prepared artefacts) at a session temp dir."""
    path = tmp_path_factory.mktemp("data")
    old = os.environ.get("SEMEDA_DATA")
    os.environ["SEMEDA_DATA"] = str(path)
    yield path
    if old is None:
        os.environ.pop("SEMEDA_DATA", None)
    else:
        os.environ["SEMEDA_DATA"] = old
