"""Fixtures private to the emulator's own tests."""

from collections.abc import Iterator

import pytest

from emulator.environment import EmulatedEnvironment


@pytest.fixture
def environment() -> Iterator[EmulatedEnvironment]:
    """The example organization with the instances the sample events imply."""
    with EmulatedEnvironment() as env:
        yield env


@pytest.fixture
def bare_environment() -> Iterator[EmulatedEnvironment]:
    """The example organization without any Identity Center instance."""
    with EmulatedEnvironment(seed_instances=False) as env:
        yield env
