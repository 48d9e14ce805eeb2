"""Shared fixtures: one data folder per test session, so synthetic sets and edge nets are made once."""

import os
from contextlib import contextmanager

import pytest
import torch

# Any Ray the tests start listens on 127.0.0.1 only: Ray reads this once, when first imported.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"


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


@contextmanager
def _torch_threads(count: int):
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture
def one_thread():
    """Float sums of a convolution depend on how many threads split them: pin one."""
    with _torch_threads(1):
        yield


@pytest.fixture
def two_threads():
    """torch on two threads (an edge net's fit depends on the count), restored after."""
    with _torch_threads(2):
        yield
