"""Dresden-II (Colaresi et al., PRL 129, 211802 (2022), arXiv:2202.09672) data release and the
Collar et al. (PRD 103, 122003 (2021)) Ge quenching tables; provenance in
``cevns_jax/data/dresden2/README.md``.

Spectra: Rx-ON (96.4 d) and Rx-OFF (25 d) rates in counts / (10 eV 3 kg day) in 130 bins of
10 eVee centred at 0.205 ... 1.495 keVee, with errors that combine statistics and the
signal-acceptance uncertainty. The rates are acceptance-corrected, so they are not raw counts:
rate x days x 2.924/3 is not an integer (mean distance to the nearest integer 0.24, as for
random numbers), and the quoted errors are 1.5-2.5 times the Poisson error of those numbers.
:class:`Dresden2Spectra` therefore carries, per bin, the *effective counts*
n_eff = (rate / error)^2 (a Poisson count with the quoted relative error) and the factor
rate / error^2 that converts an expected rate into expected effective counts.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from ._io import _data_file, _readonly, checked_rows

__all__ = ["DRESDEN2_DAYS", "DRESDEN2_MASS_KG", "DRESDEN2_RATE_MASS_KG", "DRESDEN2_BIN_KEV",
           "Dresden2Spectra", "dresden2_spectra", "read_dresden2_spectra", "ge_quenching_table",
           "read_ge_quenching_table"]

#: Live days of the two periods (PRL 129, 211802, abstract).
DRESDEN2_DAYS = {"on": 96.4, "off": 25.0}
#: Mass of the NCC-1701 crystal [kg] and the reference mass of the rate unit [kg].
DRESDEN2_MASS_KG = 2.924
DRESDEN2_RATE_MASS_KG = 3.0
#: Bin width of the release [keVee].
DRESDEN2_BIN_KEV = 0.010

_SPECTRA = ("dresden2", "dresden2_reactor_on_off_spectra.csv")
_SPECTRA_COLUMNS = ("E_keVee", "RxON_rate", "RxON_err", "RxOFF_rate", "RxOFF_err")
_N_BINS = 130
_QF = ("dresden2", "ge_quenching_fef_ybe.csv")
_QF_COLUMNS = ("E_nr_keV", "QF_Fef", "QF_YBe")


def _numeric_table(text: str, where: str, columns: tuple) -> np.ndarray:
    """Rows of a comma-separated table with header ``columns``; ``#`` lines skipped."""
    rows = checked_rows(text, where, len(columns), ",".join(columns))
    if not rows.size:
        raise ValueError(f"{where}: no data rows")
    return rows


@dataclasses.dataclass(frozen=True)
class Dresden2Spectra:
    """Rx-ON / Rx-OFF spectra: bin centres [keVee], rates and errors per channel
    ("on", "off") in counts / (10 eV 3 kg day)."""

    centres_kev: np.ndarray
    rate: dict
    error: dict

    @property
    def edges_kev(self) -> np.ndarray:
        half = 0.5 * DRESDEN2_BIN_KEV
        return np.append(self.centres_kev - half, self.centres_kev[-1] + half)

    def exposure_factor(self, channel: str) -> float:
        """Counts per unit of rate for the nominal exposure: days x 2.924 kg / 3 kg."""
        return DRESDEN2_DAYS[channel] * DRESDEN2_MASS_KG / DRESDEN2_RATE_MASS_KG

    def nominal_counts(self, channel: str) -> np.ndarray:
        """rate x days x 2.924/3: counts if the rates were not acceptance-corrected."""
        return self.rate[channel] * self.exposure_factor(channel)

    def effective_counts(self, channel: str) -> np.ndarray:
        """n_eff = (rate / error)^2: Poisson counts with the quoted relative error."""
        return (self.rate[channel] / self.error[channel]) ** 2

    def counts_per_rate(self, channel: str) -> np.ndarray:
        """rate / error^2: expected effective counts per unit of expected rate."""
        return self.rate[channel] / self.error[channel] ** 2


def read_dresden2_spectra(path) -> Dresden2Spectra:
    """Read and check a Dresden-II release table (the packaged one or a copy at ``path``).

    Raises ``ValueError`` naming the file for a wrong header, a short or non-numeric row,
    a number of bins other than 130, bins not on the 10-eV grid from 0.205 keVee, or a
    non-positive rate or error."""
    where = str(path)
    with open(path, encoding="utf-8") as handle:
        table = _numeric_table(handle.read(), where, _SPECTRA_COLUMNS)
    return _spectra_from_table(table, where)


def _spectra_from_table(table: np.ndarray, where: str) -> Dresden2Spectra:
    if table.shape[0] != _N_BINS:
        raise ValueError(f"{where}: {table.shape[0]} bins, expected {_N_BINS} (0.205-1.495 keVee)")
    centres = table[:, 0]
    grid = 0.205 + DRESDEN2_BIN_KEV * np.arange(_N_BINS)
    if np.max(np.abs(centres - grid)) > 1e-6:
        k = int(np.argmax(np.abs(centres - grid)))
        raise ValueError(f"{where}: bin centre {centres[k]!r} (row {k + 1}) is off the 10-eV "
                         f"grid starting at 0.205 keVee (expected {grid[k]:.3f})")
    if np.any(table[:, 1:] <= 0):
        k = int(np.argwhere(table[:, 1:] <= 0)[0, 0])
        raise ValueError(f"{where}: row {k + 1} has a non-positive rate or error: {table[k]}")
    rate = {"on": _readonly(table[:, 1]), "off": _readonly(table[:, 3])}
    error = {"on": _readonly(table[:, 2]), "off": _readonly(table[:, 4])}
    return Dresden2Spectra(_readonly(centres), rate, error)


@functools.lru_cache(maxsize=None)
def _packaged_spectra() -> Dresden2Spectra:
    with _as_path(_SPECTRA) as path:
        return read_dresden2_spectra(path)


def dresden2_spectra() -> Dresden2Spectra:
    """The packaged Dresden-II release (read once; arrays read-only)."""
    return _packaged_spectra()


def read_ge_quenching_table(path):
    """(E_nr [MeV], Q_Fef, Q_YBe) of a Collar et al. table at ``path``; ``ValueError`` naming the
    file for a wrong header, malformed rows, energies not increasing from 0, or Q outside (0, 1)."""
    where = str(path)
    with open(path, encoding="utf-8") as handle:
        table = _numeric_table(handle.read(), where, _QF_COLUMNS)
    energies = table[:, 0]
    if table.shape[0] < 2 or energies[0] != 0.0 or np.any(np.diff(energies) <= 0):
        raise ValueError(f"{where}: E_nr_keV must start at 0 and increase strictly")
    if np.any((table[:, 1:] <= 0) | (table[:, 1:] >= 1)):
        k = int(np.argwhere((table[:, 1:] <= 0) | (table[:, 1:] >= 1))[0, 0])
        raise ValueError(f"{where}: row {k + 1} has a quenching factor outside (0, 1): {table[k]}")
    return _readonly(energies * 1e-3), _readonly(table[:, 1]), _readonly(table[:, 2])


@functools.lru_cache(maxsize=None)
def ge_quenching_table():
    """Packaged Collar et al. (2021) Ge table: (E_nr [MeV], Q_Fef, Q_YBe), 451 rows 0-4.5 keVnr."""
    with _as_path(_QF) as path:
        return read_ge_quenching_table(path)


def _as_path(parts):
    """A context manager giving a real file path for ``cevns_jax/data/<parts>``."""
    import importlib.resources

    return importlib.resources.as_file(_data_file(*parts))
