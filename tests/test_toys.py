"""Toy-based Neyman / Feldman-Cousins limits on a Poisson counting experiment with known
background, where the answer is published (Feldman & Cousins, PRD 57, 3873 (1998), Table II
for b = 0) or follows from the same construction done by enumeration."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from cevns_jax.inference import toys
from cevns_jax.likelihood.counting import binned_poisson_measurement
from cevns_jax.likelihood.measurement import Channel, Components, Measurement
from cevns_jax.likelihood.physics_model import EffectiveMoment


class _SignalPlusBackground:
    """Expected counts mu^2 * 1 + b in one bin (signal s = mu^2)."""

    def __eq__(self, other):
        return isinstance(other, _SignalPlusBackground)

    def __hash__(self):
        return 0

    def __call__(self, data, nu):
        return Components(jnp.zeros((1, 1)), jnp.ones((1, 1)), data["b"])


def counting(n_obs, b):
    channel = Channel(observed=jnp.asarray([float(n_obs)]), data={"b": jnp.asarray([float(b)])},
                      name="count", beams=("nue",), expected_fn=_SignalPlusBackground())
    return Measurement((channel,), ())


def exact_fc_upper(n_obs, b, cl=0.9, s_max=15.0, n_s=3001, n_max=80):
    """Independent FC construction by enumeration: for each s, accept n in decreasing order of
    P(n|s+b)/P(n|max(0, n-b)+b) until the probability reaches cl; the upper limit is the
    largest s whose acceptance contains n_obs."""
    n = np.arange(n_max)
    best = np.maximum(0.0, n - b)
    upper = 0.0
    for s in np.linspace(0.0, s_max, n_s):
        p = stats.poisson.pmf(n, s + b)
        ratio = p / stats.poisson.pmf(n, best + b)
        order = np.argsort(-ratio, kind="stable")
        accepted = order[: np.searchsorted(np.cumsum(p[order]), cl) + 1]
        if n_obs in accepted:
            upper = s
    return upper


@pytest.mark.parametrize("n_obs, b, published", [(0, 0.0, 2.44), (1, 0.0, 4.36), (2, 0.0, 5.91),
                                                 (3, 0.0, 7.42)])
def test_exact_reference_reproduces_published_table(n_obs, b, published):
    # the table prints two decimals; the s grid step is 0.005
    assert exact_fc_upper(n_obs, b) == pytest.approx(published, abs=0.006)


@pytest.mark.parametrize("n_obs, b", [(0, 3.0), (4, 3.0)])
def test_toy_limit_matches_feldman_cousins(n_obs, b):
    """Limit on mu (s = mu^2) from 4000 toys per point against the exact construction. The
    tolerance is the grid step in s plus the Monte-Carlo error of a 90% quantile of a discrete
    statistic (a neighbouring n may enter the acceptance at a slightly shifted s)."""
    exact = exact_fc_upper(n_obs, b)
    s_points = np.linspace(max(exact - 1.2, 0.05), exact + 1.2, 25)
    result = toys.neyman_upper_limit(counting(n_obs, b), EffectiveMoment(), "mu",
                                     np.sqrt(s_points), n_toys=4000,
                                     key=jax.random.PRNGKey(7), batch_size=4000)
    assert result.valid
    assert result.value**2 == pytest.approx(exact, abs=0.15)
    assert np.isfinite(result.wilks)


def test_coverage_of_toy_critical_value():
    """P(t(n; s0) <= t_c(s0)) over fresh pseudo-experiments is >= 0.9 (FC over-covers a
    discrete Poisson) within 3 binomial standard deviations of 20000 trials (0.0064)."""
    s0, b = 1.5, 3.0
    m = counting(0, b)
    x0 = np.sqrt(s0)
    crit, _ = toys.critical_values(m, EffectiveMoment(), "mu", [x0], n_toys=4000,
                                   key=jax.random.PRNGKey(1), profile_construction=False,
                                   batch_size=4000)
    fresh = toys.toy_statistics(m, EffectiveMoment(), "mu", x0, np.arange(20000),
                                jax.random.PRNGKey(99), batch_size=5000)
    coverage = np.mean(fresh <= crit[0])
    assert coverage >= 0.9 - 3 * np.sqrt(0.09 / 20000)
    # and the exact coverage of the FC acceptance at s0 (enumeration) agrees within 0.02
    n = np.arange(60)
    t = np.array([float(toys.fc_statistic(counting(k, b), EffectiveMoment(), "mu", x0)[0])
                  for k in n[:15]])
    p = stats.poisson.pmf(n[:15], s0 + b)
    assert coverage == pytest.approx(p[t <= crit[0]].sum(), abs=0.02)


def test_toys_do_not_depend_on_chunking_and_compile_once():
    m = binned_poisson_measurement("bins", ("nue",), np.ones((1, 4)), 0.5 * np.ones((1, 4)),
                                   n_obs=np.array([2.0, 0.0, 1.0, 3.0]), background=1.0,
                                   signal_sigma=0.2)
    key = jax.random.PRNGKey(3)
    a = toys.toy_statistics(m, EffectiveMoment(), "mu", 1.0, np.arange(60), key, batch_size=60)
    before = dict(toys.TRACE_COUNT)
    b = np.concatenate([toys.toy_statistics(m, EffectiveMoment(), "mu", 1.0, idx, key,
                                            batch_size=60)
                        for idx in (np.arange(25), np.arange(25, 60))])
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)      # same toys, split differently
    toys.toy_statistics(m, EffectiveMoment(), "mu", 2.0, np.arange(60), key, batch_size=60)
    assert toys.TRACE_COUNT == before                          # new point: no retrace
    assert np.all(a >= -1e-9)                                  # t is a likelihood ratio


def test_observed_statistic_compiles_once():
    """t_obs at a new point or with new data reuses the compiled kernel (eager calls used to
    compile the Newton loop at every call)."""
    m = counting(2, 1.0)
    first = float(toys.fc_statistic(m, EffectiveMoment(), "mu", 1.0)[0])
    before = dict(toys.TRACE_COUNT)
    second = float(toys.fc_statistic(counting(3, 1.0), EffectiveMoment(), "mu", 1.5)[0])
    assert toys.TRACE_COUNT == before
    # t is a likelihood ratio: >= 0; at s = 1 with n = 2, b = 1 the best fit s = 1 gives t = 0
    assert first == pytest.approx(0.0, abs=1e-8) and second >= 0.0


def _store_case(n_obs=(2.0, 0.0, 1.0, 3.0)):
    return binned_poisson_measurement("bins", ("nue",), np.ones((1, 4)), 0.5 * np.ones((1, 4)),
                                      n_obs=np.array(n_obs), background=1.0, signal_sigma=0.2)


def test_toy_store_resumes_and_never_reads_stale_toys(tmp_path, monkeypatch):
    """A second construction with the same inputs reads every point back (no toy is drawn:
    toy_statistics is made to fail); new data give new keys and are computed; an unreadable
    file is computed again. Values read back are bit-identical (np.save/np.load)."""
    from cevns_jax.inference.toy_store import ToyStore

    args = dict(n_toys=40, key=jax.random.PRNGKey(5), batch_size=40, store=tmp_path)
    first_crit, first = toys.critical_values(_store_case(), EffectiveMoment(), "mu", [0.5, 1.0],
                                             **args)
    assert len(list(tmp_path.glob("*.npy"))) == 2
    real = toys.toy_statistics

    def fail(*a, **k):
        raise AssertionError("a stored point was drawn again")

    monkeypatch.setattr(toys, "toy_statistics", fail)
    again_crit, again = toys.critical_values(_store_case(), EffectiveMoment(), "mu", [0.5, 1.0],
                                             **args)
    np.testing.assert_array_equal(again_crit, first_crit)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(AssertionError, match="drawn again"):      # other data: another key
        toys.critical_values(_store_case((2.0, 0.0, 1.0, 4.0)), EffectiveMoment(), "mu", [0.5],
                             **args)
    monkeypatch.setattr(toys, "toy_statistics", real)
    for path in tmp_path.glob("*.npy"):
        path.write_bytes(b"not an array")
    redrawn_crit, _ = toys.critical_values(_store_case(), EffectiveMoment(), "mu", [0.5, 1.0],
                                           **args)
    np.testing.assert_array_equal(redrawn_crit, first_crit)
    assert not list(tmp_path.glob("*.tmp"))                          # no partial files left
    assert ToyStore.key(a=1.0) != ToyStore.key(a=1.0 + 1e-15)       # the key sees every bit
