"""COHERENT CsI[Na] 2017 release parameters.

Plain NumPy, run once at set-up; names are checked and unknown ones raise ``ValueError``."""

from __future__ import annotations


from ._io import _read_csv

__all__ = [
    "coherent_csi2017_parameters",
    "coherent_csi2017_parameter_uncertainties",
]

# --------------------------------------------------------------------------------------------
# COHERENT CsI[Na] 2017
# --------------------------------------------------------------------------------------------
def coherent_csi2017_parameters() -> dict[str, float]:
    """Central values from ``data/coherent_csi2017/csi2017_parameters.csv``.

    CONVERTED from the release's ``coherent_parameters.yaml`` (Zenodo 10.5281/zenodo.1228631,
    md5 identical; Science 357, 1123 (2017)).  Keys and units: beam_exposure [GWhr],
    distance_to_target [m], csi_quenching_factor, csi_light_yield [PE/keVee],
    neutrinos_per_proton_per_flavor, prompt_neutron_normalization (relative),
    acceptance_a, acceptance_k [1/PE], acceptance_x_0 [PE].
    """
    header, rows = _read_csv("coherent_csi2017", "csi2017_parameters.csv")
    i_name, i_val = header.index("name"), header.index("value")
    return {row[i_name]: float(row[i_val]) for row in rows}


def coherent_csi2017_parameter_uncertainties() -> dict[str, tuple[float, float]]:
    """(upper, lower) 1-sigma uncertainties from ``csi2017_parameters.csv`` (same keys/units)."""
    header, rows = _read_csv("coherent_csi2017", "csi2017_parameters.csv")
    i_name = header.index("name")
    i_hi, i_lo = header.index("uncertainty_or_hi"), header.index("uncertainty_lo")
    return {row[i_name]: (float(row[i_hi]), float(row[i_lo])) for row in rows}
