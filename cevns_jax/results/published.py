"""Published 90 % C.L. magnetic-moment limits, beside which the real-data results are shown.

:data:`PUBLISHED_LIMITS` holds one :class:`PublishedLimit` per published number: the value and
its unit, the confidence level, the data and the method it comes from, the reference (journal
and arXiv) and where in the text it is stated. Only numbers stated in a text that was read
are here; ``docs/published_limits.md`` lists what was looked for and not found (the body text
of the COHERENT, Dresden-II and XENONnT reinterpretations).

A record is keyed by ``(analysis, quantity)`` with the names of the results contract
(:data:`cevns_jax.results.COLUMNS`): ``analysis`` is a real-data analysis of
:data:`cevns_jax.results.ANALYSES` when the publication used the same data set, otherwise a
name of its own (``borexino_phase2``, ``lz_2022``, ...); ``quantity`` is ours
(``limit_lambda1``, ``limit_mu_eff``, ...). :func:`attach` puts the published value and its
reference into result rows; :func:`world_rows` gives the rows of publications whose data set
has no analysis here (for :func:`cevns_jax.results.global_fit.world_table`).

``agreement`` is set where this package reproduces the publication's own data and method
(paper 000's total-count chi^2 for COHERENT CsI 2017, paper 000 Eq. 38 for Borexino): the
largest ratio, either way, between our number and the published one that the tests accept,
with ``agreement_reason`` saying why that much.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["PublishedLimit", "PUBLISHED_LIMITS", "UNITS", "attach", "lookup", "world_rows"]

#: Units a record may carry (the unit of every moment limit of the results contract).
UNITS = ("1e-10 mu_B",)

PAPER000 = ("O.G. Miranda, D.K. Papoulias, M. Tortola, J.W.F. Valle, JHEP 07 (2019) 103, "
            "arXiv:1905.03750 (paper 000)")
BOREXINO = ("Borexino, M. Agostini et al., PRD 96, 091103 (2017), arXiv:1707.09355; quoted in "
            + PAPER000)
PAPER004 = ("M. Demirci, O. Basli, M.F. Mustamin, 'Probing neutrino magnetic moment with CEvNS', "
            "BSM-2023 proceedings, doi:10.31526/BSM-2023.19 (paper 004)")


@dataclass(frozen=True)
class PublishedLimit:
    """One published upper limit (module docstring)."""

    analysis: str
    quantity: str
    value: float
    unit: str
    confidence_level: float
    data: str
    method: str
    reference: str
    where: str
    agreement: float | None = None
    agreement_reason: str = ""


def _csi2017(index: int, value: float) -> PublishedLimit:
    return PublishedLimit(
        "coherent_csi2017", f"limit_lambda{index}", value, "1e-10 mu_B", 0.90,
        data="COHERENT CsI[Na] 2017 (Science 357, 1123): N_meas = 142 events, full SNS beam "
             "(prompt + delayed)",
        method="chi^2 of the total count, paper 000 Eq. (34) (signal 28 %, background 25 % "
               "nuisances minimised), Delta chi^2 = 2.71, one |Lambda_i| at a time, all phases "
               "zero",
        reference=PAPER000,
        where="Sect. 5, text after Eq. (36): full SNS beam, CsI current configuration, "
              "(42.8, 40.0, 43.6) x 1e-10 mu_B",
        agreement=1.05,
        agreement_reason="the same count (142), backgrounds and Eq. (34) on our CsI templates "
                         "with every phase zero; paper 000's flux, quenching and form factor "
                         "are re-derived, not copied, and papers/paper000.py reproduces its "
                         "SNS Table II entries within 4 %")


def _borexino_lambda(index: int, value: float) -> PublishedLimit:
    return PublishedLimit(
        "borexino_phase2", f"limit_lambda{index}", value, "1e-10 mu_B", 0.90,
        data="Borexino Phase-II solar nu-e spectrum, through the collaboration's mu_eff limit",
        method="mu_eff < 2.8e-11 mu_B translated into one |Lambda_i| at a time with paper 000 "
               "Eq. (38) (solar neutrinos as an incoherent mixture of mass states: no phase "
               "dependence)",
        reference=PAPER000,
        where="Table II, row 'Borexino'; Sect. 6, Fig. 8",
        agreement=1.05,
        agreement_reason="the same input limit and Eq. (38); only P_e1 of 7Be neutrinos "
                         "(adiabatic MSW at the production density) and the mixing angles "
                         "may differ from the paper's: a few per cent")


#: Every published limit used (module docstring). Values in :data:`UNITS`.
PUBLISHED_LIMITS = (
    _csi2017(1, 42.8), _csi2017(2, 40.0), _csi2017(3, 43.6),
    PublishedLimit(
        "borexino_phase2", "limit_mu_eff", 0.28, "1e-10 mu_B", 0.90,
        data="Borexino Phase-II solar neutrino-electron spectrum",
        method="the collaboration's spectral fit (solar effective moment)",
        reference=BOREXINO,
        where="paper 000 Sect. 6, text before Fig. 8 ('mu^M_nu,sol < 2.8 x 10^-11 mu_B', 90 % "
              "C.L.); also paper 004 Sect. 1. The Borexino paper itself was not read"),
    _borexino_lambda(1, 0.44), _borexino_lambda(2, 0.36), _borexino_lambda(3, 0.28),
    PublishedLimit(
        "borexino_canas2016", "limit_mu_eff", 0.31, "1e-10 mu_B", 0.90,
        data="Borexino solar neutrino data as of 2015 ('the most recent Borexino data' of the "
             "abstract)",
        method="the authors' analysis of the Borexino spectrum (the abstract states no "
               "detail)",
        reference="B.C. Canas et al., 'Updating neutrino magnetic moment constraints', "
                  "arXiv:1510.01684",
        where="abstract"),
    *(PublishedLimit(
        "borexino_canas2016", f"limit_lambda{i}", v, "1e-10 mu_B", 0.90,
        data="Borexino solar neutrino data as of 2015",
        method="the effective-moment fit translated into one |Lambda_i| at a time "
               "('irrespective of any complex phase')",
        reference="B.C. Canas et al., 'Updating neutrino magnetic moment constraints', "
                  "arXiv:1510.01684",
        where="abstract") for i, v in ((1, 0.56), (2, 0.40), (3, 0.31))),
    PublishedLimit(
        "borexino_khan2017", "limit_mu_eff", 0.087, "1e-10 mu_B", 0.90,
        data="Borexino Phase-I and Phase-II pp, 7Be and pep spectra",
        method="the author's fit of the Borexino spectra (the abstract states no detail)",
        reference="A.N. Khan, 'sin^2 theta_W estimate and neutrino electromagnetic properties "
                  "from low-energy solar data', arXiv:1709.02930",
        where="abstract ('mu_nu^eff <= 8.7 x 10^-12 mu_B at 90% C.L.')"),
    PublishedLimit(
        "lz_2022", "limit_mu_eff", 0.11, "1e-10 mu_B", 0.90,
        data="LUX-ZEPLIN first WIMP-search electronic recoils (2022)",
        method="fit of the LZ electronic-recoil data; several descriptions of the atomic "
               "binding compared (abstract)",
        reference="M. Atzori Corona, W.M. Bonivento, M. Cadeddu, N. Cargioli, F. Dordei, "
                  "arXiv:2207.05036",
        where="abstract ('mu_nu^eff < 1.1 x 10^-11 mu_B at 90% C.L.')"),
    *(PublishedLimit(
        "cdex10_paper004", f"limit_mu_nu{flavour}", v, "1e-10 mu_B", 0.90,
        data="CDEX-10 solar-neutrino CEvNS spectrum (PRD 107, 112002), 20 points",
        method="chi^2 of the CDEX-10 points (Lindhard quenching); the text says the limits "
               "'can be obtained directly from Figure 3', whose 90 % C.L. regions have two "
               "flavour moments free",
        reference=PAPER004,
        where="Sect. 4 (Numerical results), text on Fig. 3 ('mu_nu_e < 7.88 x 10^-10, "
              "mu_nu_mu < 1.43 x 10^-10, mu_nu_tau < 9.05 x 10^-10')")
      for flavour, v in (("e", 7.88), ("mu", 1.43), ("tau", 9.05))),
)


def _index(records) -> dict:
    """{(analysis, quantity): record}; a key given twice raises ValueError."""
    index = {}
    for record in records:
        key = (record.analysis, record.quantity)
        if key in index:
            raise ValueError(f"two published records for {key}")
        index[key] = record
    return index


_INDEX = _index(PUBLISHED_LIMITS)


def lookup(analysis: str, quantity: str) -> PublishedLimit | None:
    """The published limit on ``quantity`` from the data of ``analysis``; None if none."""
    return _INDEX.get((analysis, quantity))


def _is_limit(row) -> bool:
    return row["quantity"].startswith("limit_") and row["unit"] in UNITS


def attach(rows: list[dict]) -> list[dict]:
    """The rows with ``published`` and ``reference`` of every moment-limit row (quantity
    ``limit_*`` in :data:`UNITS`) taken from the table: the published value and its reference
    where a record matches (analysis, quantity), else ``published`` None and the row's own
    reference. Other rows are returned unchanged. A record whose unit differs from the row's
    raises ValueError."""
    out = []
    for row in rows:
        record = lookup(row["analysis"], row["quantity"])
        if record is not None and record.unit != row["unit"]:
            raise ValueError(f"published {record.quantity} of {record.analysis} is in "
                             f"{record.unit!r}, the row in {row['unit']!r}")
        if not _is_limit(row):
            out.append(row)
            continue
        out.append({**row, "published": None if record is None else record.value,
                    "reference": row["reference"] if record is None else record.reference})
    return out


def world_rows(analyses=None) -> list[dict]:
    """Rows of the results contract for the records of data sets without an analysis here
    (``analyses``: the names to leave out, default :data:`cevns_jax.results.ANALYSES`).

    ``computed`` is our number where one follows from a published input: the Borexino
    |Lambda_i| from the published mu_eff through paper 000 Eq. (38)
    (:func:`cevns_jax.moments.borexino_single_parameter_limits`); else NaN, and the method
    says that the row is published only."""
    from . import ANALYSES

    analyses = set(ANALYSES if analyses is None else analyses)
    translated = _borexino_translation()
    rows = []
    for record in PUBLISHED_LIMITS:
        if record.analysis in analyses:
            continue
        computed = translated.get((record.analysis, record.quantity), math.nan)
        method = (f"ours: paper 000 Eq. (38) on the published mu_eff; published: {record.method}"
                  if math.isfinite(computed) else
                  f"published only (these data are not analysed here): {record.method}")
        rows.append(dict(analysis=record.analysis, quantity=record.quantity,
                         computed=float(computed), uncertainty=None, published=record.value,
                         unit=record.unit, method=f"{method}; {record.data}",
                         reference=record.reference))
    return rows


def _borexino_translation() -> dict:
    """{("borexino_phase2", "limit_lambda<i>"): |Lambda_i| limit} from the published mu_eff."""
    from .. import moments
    from ..papers.paper000 import borexino_pe1

    mu = lookup("borexino_phase2", "limit_mu_eff").value
    limits = moments.borexino_single_parameter_limits(mu, borexino_pe1())
    return {("borexino_phase2", f"limit_lambda{i + 1}"): float(limits[i]) for i in range(3)}
