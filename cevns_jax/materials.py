"""Isotopes with natural abundances, detector materials and target counts.

Atomic masses: AME2016 (Wang et al., Chinese Phys. C 41, 030003), in atomic mass units.
Natural abundances: NIST / IUPAC representative isotopic compositions (mole fractions).
Spin excesses (dZ, dN) = (Z+ - Z-, N+ - N-) of paper 000 Eq. (21) use the single-particle
estimate: the unpaired nucleon of an odd-A isotope carries the nuclear spin, so dZ = 1
(odd Z) or dN = 1 (odd N); even-even isotopes have none. The axial term Q_A^2 / Q_V^2
(sin^2 theta_W = 0.2312) is 7.3e-3 for 23Na, 5.0e-3 for 29Si (4.7 % of natural Si),
6.6e-4 for 73Ge and below 2e-4 for 127I, 133Cs, 129Xe and 131Xe. In counts it is largest for
NaI: it adds 1.6 % to the COHERENT-NaI prompt count and 0.3-0.4 % to the delayed counts
(current setup, paper 000 Eq. 20 with and without the 23Na spin excess).

Number of targets per isotope, paper 000 Eq. (32):
    N_x = m_det * eta_x / sum_y(A_y eta_y) * N_A,
with eta_x the stoichiometric ratio times the natural abundance and A_y the molar mass.
"""

from __future__ import annotations

from dataclasses import dataclass

from .constants import AMU_MEV, AVOGADRO, M_ELECTRON


class MaterialError(ValueError):
    """Unknown isotope, element or material, or an invalid composition."""


@dataclass(frozen=True)
class Isotope:
    """One nuclide: ``Z``, ``A``, atomic mass in u, natural abundance, spin excesses."""

    name: str
    Z: int
    A: int
    atomic_mass_u: float
    abundance: float
    delta_z: int = 0
    delta_n: int = 0

    @property
    def N(self) -> int:
        return self.A - self.Z

    @property
    def nuclear_mass_mev(self) -> float:
        """Nuclear mass m_A = M_atom - Z m_e [MeV] (electron binding neglected)."""
        return self.atomic_mass_u * AMU_MEV - self.Z * M_ELECTRON


def _iso(element, Z, A, mass, abundance, dz=0, dn=0):
    return Isotope(f"{element}{A}", Z, A, mass, abundance, dz, dn)


#: element symbol -> its naturally occurring isotopes.
ELEMENTS: dict[str, tuple[Isotope, ...]] = {
    "Na": (_iso("Na", 11, 23, 22.9897692820, 1.0, dz=1),),
    "Si": (
        _iso("Si", 14, 28, 27.9769265347, 0.92223),
        _iso("Si", 14, 29, 28.9764946649, 0.04685, dn=1),
        _iso("Si", 14, 30, 29.973770136, 0.03092),
    ),
    "Ar": (
        _iso("Ar", 18, 36, 35.967545106, 0.003336),
        _iso("Ar", 18, 38, 37.96273211, 0.000629),
        _iso("Ar", 18, 40, 39.9623831237, 0.996035),
    ),
    "Ge": (
        _iso("Ge", 32, 70, 69.92424875, 0.2038),
        _iso("Ge", 32, 72, 71.922075826, 0.2731),
        _iso("Ge", 32, 73, 72.923458956, 0.0776, dn=1),
        _iso("Ge", 32, 74, 73.921177761, 0.3672),
        _iso("Ge", 32, 76, 75.921402726, 0.0783),
    ),
    "I": (_iso("I", 53, 127, 126.904472, 1.0, dz=1),),
    "Xe": (
        _iso("Xe", 54, 124, 123.905893, 0.000952),
        _iso("Xe", 54, 126, 125.904298, 0.000890),
        _iso("Xe", 54, 128, 127.903531, 0.019102),
        _iso("Xe", 54, 129, 128.904780861, 0.264006, dn=1),
        _iso("Xe", 54, 130, 129.903509349, 0.040710),
        _iso("Xe", 54, 131, 130.90508406, 0.212324, dn=1),
        _iso("Xe", 54, 132, 131.904155086, 0.269086),
        _iso("Xe", 54, 134, 133.90539466, 0.104357),
        _iso("Xe", 54, 136, 135.907214484, 0.088573),
    ),
    "Cs": (_iso("Cs", 55, 133, 132.905451961, 1.0, dz=1),),
}

#: named detector materials -> stoichiometric ratio per element (atoms per formula unit).
#: MINER's "2Ge:1Si" (paper 000 Table I) is read as an atom ratio, as Eq. (32) defines eta.
MATERIALS: dict[str, dict[str, float]] = {
    "CsI": {"Cs": 1.0, "I": 1.0},
    "NaI": {"Na": 1.0, "I": 1.0},
    "Ge": {"Ge": 1.0},
    "Si": {"Si": 1.0},
    "Ar": {"Ar": 1.0},
    "Xe": {"Xe": 1.0},
    "2Ge:1Si": {"Ge": 2.0, "Si": 1.0},
}


def composition(material) -> dict[str, float]:
    """Element -> stoichiometric ratio for a material name or an explicit mapping."""
    if isinstance(material, str):
        if material not in MATERIALS:
            raise MaterialError(
                f"unknown material {material!r}; known materials: {', '.join(MATERIALS)} "
                "(or give a mapping element -> atoms per formula unit)"
            )
        return dict(MATERIALS[material])
    if not isinstance(material, dict) or not material:
        raise MaterialError(f"material must be a name or a non-empty mapping, got {material!r}")
    for element, ratio in material.items():
        if element not in ELEMENTS:
            raise MaterialError(
                f"unknown element {element!r} in material {material!r}; "
                f"known elements: {', '.join(ELEMENTS)}"
            )
        if not ratio > 0:
            raise MaterialError(f"stoichiometric ratio of {element!r} must be positive, got {ratio!r}")
    return dict(material)


def isotopes_of(material) -> list[tuple[Isotope, float]]:
    """(isotope, eta) pairs with eta = stoichiometric ratio x natural abundance."""
    return [
        (iso, ratio * iso.abundance)
        for element, ratio in composition(material).items()
        for iso in ELEMENTS[element]
    ]


def target_counts(material, mass_kg: float) -> list[tuple[Isotope, float]]:
    """(isotope, number of nuclei) for ``mass_kg`` of ``material`` (paper 000 Eq. 32)."""
    if not mass_kg > 0:
        raise MaterialError(f"detector mass must be positive, got {mass_kg!r} kg")
    pairs = isotopes_of(material)
    molar_mass_g = sum(iso.atomic_mass_u * eta for iso, eta in pairs)
    return [(iso, 1e3 * mass_kg * eta / molar_mass_g * AVOGADRO) for iso, eta in pairs]
