"""Shared test setup: hypothesis profiles and the device fixture.

Profiles: `ci` (derandomized, no deadline; .ci/run selects it through HYPOTHESIS_PROFILE) and
`dev` (the default: random, no deadline, fewer examples). The `device` fixture runs a test on
the CPU and, when CuPy sees a GPU, on CUDA too; TINYGAN_DEVICE=cuda runs it on CUDA only."""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import tinygan as tg
from tinygan import backend

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=40,
                          suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.register_profile("dev", deadline=None, max_examples=25,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def _devices():
    if os.environ.get("TINYGAN_DEVICE", "").startswith("cuda"):
        return ["cuda"]
    return ["cpu", "cuda"] if backend.cuda_available() else ["cpu"]


@pytest.fixture(params=_devices())
def device(request):
    """The device name a test runs on ('cpu', and 'cuda' where a GPU is present)."""
    return request.param


@pytest.fixture
def xp(device):
    """The array module of the device (numpy or cupy)."""
    return backend.xp_for(device)


@pytest.fixture(autouse=True)
def _seed():
    tg.manual_seed(0)
    np.random.seed(0)
    yield


def requires_cuda():
    return pytest.mark.skipif(not backend.cuda_available(), reason="needs CuPy and a CUDA GPU")
