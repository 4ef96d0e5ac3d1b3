"""Published magnetic-moment limits (:mod:`cevns_jax.results.published`): the records are
complete, an attached value has the row's quantity and unit, and where this package reproduces
a publication's data and method our number lies within the factor the record states."""

import math

import numpy as np
import pytest
from scipy import optimize

from cevns_jax import moments
from cevns_jax.likelihood.physics_model import TransitionMoments
from cevns_jax.papers import paper000
from cevns_jax.quadrature import QuadratureConfig
from cevns_jax.results import ANALYSES, COLUMNS, coherent_csi
from cevns_jax.results import published as pub

LIMIT = "1e-10 mu_B"


def _row(analysis, quantity, unit=LIMIT, published=None, reference="own"):
    return dict(analysis=analysis, quantity=quantity, computed=1.0, uncertainty=None,
                published=published, unit=unit, method="m", reference=reference)


def test_records_are_complete_and_well_formed():
    for r in pub.PUBLISHED_LIMITS:
        assert r.unit in pub.UNITS, r
        assert 0.0 < r.confidence_level < 1.0, r
        assert math.isfinite(r.value) and r.value > 0.0, r
        assert r.quantity.startswith("limit_"), r
        for text in (r.analysis, r.data, r.method, r.reference, r.where):
            assert text.strip(), r
        assert "arXiv:" in r.reference or "doi:" in r.reference, r
        # a factor is stated exactly where the same data and method are reproduced here
        if r.agreement is None:
            assert not r.agreement_reason, r
        else:
            assert r.agreement > 1.0 and r.agreement_reason.strip(), r


def test_keys_are_unique_and_looked_up():
    keys = [(r.analysis, r.quantity) for r in pub.PUBLISHED_LIMITS]
    assert len(set(keys)) == len(keys)
    for r in pub.PUBLISHED_LIMITS:
        assert pub.lookup(r.analysis, r.quantity) is r
    assert pub.lookup("coherent_csi2017", "limit_mu_nue") is None
    record = pub.PUBLISHED_LIMITS[0]
    with pytest.raises(ValueError, match="two published records"):
        pub._index([record, record])


def test_attach_sets_published_and_reference_of_limit_rows_only():
    stale = _row("xenonnt_er2022", "limit_mu_eff", published=0.5)
    events = _row("coherent_lar2020", "cevns_events_fit", unit="events", published=159.0)
    matched = _row("coherent_csi2017", "limit_lambda2")
    out = pub.attach([stale, events, matched])
    # no record: no published value (a stale one is removed), the row's own reference kept
    assert out[0]["published"] is None and out[0]["reference"] == "own"
    assert out[1] == events                     # not a moment limit: unchanged
    record = pub.lookup("coherent_csi2017", "limit_lambda2")
    assert out[2]["published"] == record.value and out[2]["reference"] == record.reference
    assert out[2]["quantity"] == record.quantity and out[2]["unit"] == record.unit
    with pytest.raises(ValueError, match="limit_lambda2 of coherent_csi2017"):
        pub.attach([_row("coherent_csi2017", "limit_lambda2", unit="1e-11 mu_B")])


def test_records_of_real_data_sets_name_a_quantity_their_driver_reports():
    """A record keyed by an analysis of ``cevns-jax data`` is attached to that driver's row,
    so its quantity must be one the driver reports (in the same unit, checked by attach)."""
    reported = {"coherent_csi2017": {q for q, _, _ in coherent_csi.MOMENT_LIMITS}}
    for r in pub.PUBLISHED_LIMITS:
        if r.analysis in ANALYSES:
            assert r.quantity in reported[r.analysis], r


def test_world_rows_follow_the_results_contract():
    rows = pub.world_rows()
    outside = [r for r in pub.PUBLISHED_LIMITS if r.analysis not in ANALYSES]
    assert [(r["analysis"], r["quantity"]) for r in rows] == [
        (r.analysis, r.quantity) for r in outside]
    for row in rows:
        assert set(row) == set(COLUMNS)
        record = pub.lookup(row["analysis"], row["quantity"])
        assert row["published"] == record.value and row["unit"] == record.unit
        assert row["reference"] == record.reference
        if not math.isfinite(row["computed"]):
            assert row["method"].startswith("published only")


# -- physics: our numbers against the published ones where data and method are the same --

def test_borexino_lambda_limits_from_the_published_mu_eff():
    """Paper 000 Eq. (38) with one |Lambda_i|: mu_sol^2 = Lambda_1^2 (1 - c13^2 P_e1),
    Lambda_2^2 (1 - c13^2 P_e2), Lambda_3^2 c13^2 (P_e1 + P_e2 = 1). The closed form checks
    the package's translation, and both lie within each record's stated factor of Table II."""
    mu = pub.lookup("borexino_phase2", "limit_mu_eff").value
    pe1 = paper000.borexino_pe1()
    c13sq = 1.0 - moments.DEFAULT_OSCILLATION.s13sq
    closed = mu / np.sqrt([1.0 - c13sq * pe1, 1.0 - c13sq * (1.0 - pe1), c13sq])
    ours = np.asarray(moments.borexino_single_parameter_limits(mu, pe1))
    np.testing.assert_allclose(ours, closed, rtol=1e-12)   # same formula: rounding only
    for i in range(3):
        record = pub.lookup("borexino_phase2", f"limit_lambda{i + 1}")
        assert 1.0 / record.agreement <= ours[i] / record.value <= record.agreement, record


#: Paper 000 Eq. (34) inputs for COHERENT CsI 2017 (Sect. 5): measured events, beam-on prompt
#: neutrons, steady-state background, fractional signal and background uncertainties.
N_MEAS, B_0N, B_SS, SIGMA_SIGNAL, SIGMA_BACKGROUND = 142.0, 6.0, 405.0, 0.28, 0.25


def _eq34(n_theory):
    """Paper 000 Eq. (34) minimised over a1, a2 in closed form: a Gaussian residual linear in
    (a1, a2) with Gaussian priors gives d^2 / (sigma_stat^2 + (s1 N)^2 + (s2 B)^2)."""
    sigma_stat_sq = N_MEAS + B_0N + 2.0 * B_SS
    residual = N_MEAS - n_theory - B_0N
    return residual ** 2 / (sigma_stat_sq + (SIGMA_SIGNAL * n_theory) ** 2
                            + (SIGMA_BACKGROUND * B_0N) ** 2)


@pytest.fixture(scope="module")
def csi_counts():
    # 24 x 24 nodes, 6 pieces: the total counts agree with the default nodes to < 1e-6
    quad = QuadratureConfig(n_recoil=24, n_energy=24, n_piece=6)
    return paper000.experiment_counts("COHERENT-CsI", "current",
                                      paper000.Paper000Options(quad=quad))


def test_csi2017_counting_limits_reproduce_paper000(csi_counts):
    """Same data (142 events) and statistic (Eq. 34) as paper 000 Sect. 5, on our CsI
    templates for the full SNS beam: each |Lambda_i| within the record's factor. The paper
    sets every phase to zero, delta_CP included: |U_mu j|^2, hence the beam weights, depend on
    delta_CP."""
    sm = csi_counts.sm.sum()
    model = TransitionMoments(paper000.Paper000Options().oscillation)   # delta_CP = 0
    for i in range(3):
        theta = {"lambda1": 0.0, "lambda2": 0.0, "lambda3": 0.0, "xi1": 0.0, "xi3": 0.0,
                 f"lambda{i + 1}": 1.0}
        weights = np.asarray(model.mu2(theta, csi_counts.flavours))
        em = float(weights @ csi_counts.em)          # events per (1e-10 mu_B)^2

        def chi2(lam):
            return _eq34(sm + em * lam ** 2)

        best = optimize.minimize_scalar(chi2, bounds=(0.0, 200.0), method="bounded",
                                        options={"xatol": 1e-9})
        floor = min(best.fun, chi2(0.0))
        start = best.x if best.fun < chi2(0.0) else 0.0
        ours = optimize.brentq(lambda lam: chi2(lam) - floor - 2.71, start, 1.0e3, xtol=1e-10)
        record = pub.lookup("coherent_csi2017", f"limit_lambda{i + 1}")
        assert 1.0 / record.agreement <= ours / record.value <= record.agreement, (ours, record)


def test_world_table_takes_published_values_from_the_table(monkeypatch):
    """global_fit.world_table: each data set's mu_eff row gets the table's published value (a
    stand-in record here; no fit is run) and the world rows follow."""
    from cevns_jax.results import global_fit

    class Alone:
        def prefixed(self, name):
            return self

    record = pub.PublishedLimit("xenonnt_er2022", "limit_mu_eff", 0.5, LIMIT, 0.9, "d", "m",
                                "ref arXiv:0000.00000", "w")
    monkeypatch.setattr(pub, "_INDEX", {**pub._INDEX, (record.analysis, record.quantity): record})
    monkeypatch.setattr(global_fit, "measurements",
                        lambda names, quick: {"xenonnt_er2022": Alone(), "dresden2": Alone()})
    monkeypatch.setattr(global_fit, "upper_limits", lambda *args, **kwargs: {
        "mu": type("Limit", (), {"value": 0.07})()})
    rows = global_fit.world_table(names=["xenonnt_er2022", "dresden2"])
    assert [(r["analysis"], r["published"], r["reference"]) for r in rows[:2]] == [
        ("xenonnt_er2022", 0.5, "ref arXiv:0000.00000"),
        ("dresden2", None, global_fit.importlib.import_module(
            "cevns_jax.results.dresden2").REFERENCE)]
    assert [(r["analysis"], r["quantity"], r["published"]) for r in rows[2:]] == [
        (r["analysis"], r["quantity"], r["published"]) for r in pub.world_rows()]
