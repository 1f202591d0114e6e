"""Shared test setup: hypothesis profiles, the strict test device and the device fixture.

Profiles: `ci` (derandomized, no deadline; .ci/run selects it through HYPOTHESIS_PROFILE) and
`dev` (the default: random, no deadline, fewer examples). The `device` fixture runs a test on
the CPU, on the strict device (tests/strict_device.py: CuPy's rules on NumPy arrays, so device
mistakes fail without a GPU) and, when CuPy sees a GPU, on CUDA; TINYGAN_DEVICE=cuda or
TINYGAN_DEVICE=strict runs it on that device only."""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import strict_device
import tinygan as tg
from tinygan import backend

strict_device.register()

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=40,
                          suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.register_profile("dev", deadline=None, max_examples=25,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def _devices():
    chosen = os.environ.get("TINYGAN_DEVICE", "")
    if chosen.startswith("cuda") or chosen == "strict":
        return [backend.check_device(chosen)]
    return ["cpu", "strict"] + (["cuda"] if backend.cuda_available() else [])


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
