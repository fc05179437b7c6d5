import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def random_dna(rng, n, length):
    return ["".join(rng.choice(list("ACGT"), length)) for _ in range(n)]


@pytest.fixture(scope="session")
def mirror():
    """The data mirror the tests read real files from (``$TEACHBIND_DATA_DIR``), or None to download."""
    value = os.environ.get("TEACHBIND_DATA_DIR")
    return Path(value).resolve() if value else None


requires_mirror = pytest.mark.skipif(
    not (os.environ.get("TEACHBIND_DATA_DIR") or os.environ.get("CI")),
    reason="reads a file that only the data mirror has: set TEACHBIND_DATA_DIR",
)
