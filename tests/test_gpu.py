"""The same computations on a GPU and on the CPU agree (float64 on both).

Marked ``gpu`` and skipped where no GPU is visible (CI). On a machine with one:
``JAX_PLATFORMS=cuda,cpu python -m pytest -m gpu -o addopts=""`` (``benchmarks/gpu_check.sh``
runs these and the benchmarks in one go). Tolerances: the GPU's float64 arithmetic differs
from the CPU's in summation order and fused multiply-adds only, so sums agree to ~1e-13
relative; limits and toy statistics, which go through damped-Newton profiles and root
finding, to the solvers' tolerances.
"""

import jax
import numpy as np
import pytest

from cevns_jax.experiments import build_experiment, get_config
from cevns_jax.inference import toys
from cevns_jax.inference.profile_grid import upper_limits
from cevns_jax.likelihood.counting import binned_poisson_measurement
from cevns_jax.likelihood.physics_model import EffectiveMoment
from cevns_jax.papers import paper000
from cevns_jax.rates import binned_templates

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def gpu():
    try:
        return jax.devices("gpu")[0]
    except RuntimeError:
        pytest.skip("no GPU visible (run with JAX_PLATFORMS=cuda,cpu on a GPU machine)")


def on(device, fn):
    """``fn()`` with ``device`` as the default device, results fetched to the host."""
    with jax.default_device(device):
        return jax.tree_util.tree_map(np.asarray, fn())


@pytest.mark.parametrize("name, setup", [("COHERENT-CsI", "current"), ("CONUS", "future"),
                                         ("RED100", "future")])
def test_templates_agree(gpu, name, setup):
    experiment = build_experiment(get_config(name, setup))
    cpu = on(jax.devices("cpu")[0], lambda: binned_templates(experiment))
    acc = on(gpu, lambda: binned_templates(experiment))
    np.testing.assert_allclose(acc.sm, cpu.sm, rtol=1e-12)   # summation order only
    np.testing.assert_allclose(acc.em, cpu.em, rtol=1e-12)


def test_table2_limits_agree(gpu):
    """Paper 000's full-beam LAr and future CONUS limits, 64 points per call on each device."""
    options = paper000.Paper000Options()

    def limits():
        out = []
        for name, setup, group in (("COHERENT-LAr", "current", "SNS full"),
                                   ("CONUS", "future", "reactor")):
            counts = paper000.experiment_counts(name, setup, options)
            found = upper_limits(paper000.measurement(counts, group, options),
                                 paper000.model(options), ["lambda1", "lambda2", "lambda3"],
                                 upper=paper000.LIMIT_SEARCH_MAX, rtol=1e-10)
            out.extend(r.value for r in found.values())
        return np.array(out)

    # both converge to 1e-10 in x on values that agree to ~1e-13
    np.testing.assert_allclose(on(gpu, limits), on(jax.devices("cpu")[0], limits), rtol=1e-9)


def test_toy_statistics_agree(gpu):
    """Same keys, same toys (threefry is device independent), same fits to Newton's tolerance."""
    m = binned_poisson_measurement("bins", ("nue",), np.ones((1, 6)), 0.5 * np.ones((1, 6)),
                                   n_obs=np.array([2.0, 0.0, 1.0, 3.0, 1.0, 2.0]),
                                   background=1.0, signal_sigma=0.2)

    def statistics():
        return toys.toy_statistics(m, EffectiveMoment(), "mu", 1.0, np.arange(512),
                                   jax.random.PRNGKey(7), batch_size=256)

    np.testing.assert_allclose(on(gpu, statistics), on(jax.devices("cpu")[0], statistics),
                               rtol=1e-8, atol=1e-9)
