"""Detector response (reference implementation): targets, thresholds, efficiency.

* Targets per isotope, paper 000 Eq. (32): N_x = m_det eta_x / sum_y(A_y eta_y) N_A with
  eta = stoichiometric ratio x natural abundance and A_y the atomic mass in g/mol.
* Threshold: keVnr/eVnr (nuclear recoil, common to all isotopes), keVee/eVee (electron
  equivalent: each isotope's own T_nr from the Lindhard inverse, paper 000 Eq. 27),
  or PE (T_nr = n_PE / pe_per_keVnr keV with the efficiency block's light yield).
* Efficiency: "flat" (a constant ``value``) or "coherent_csi2017" (paper 000 Eq. 29-31):
  x = pe_per_keVnr T_nr[keV], A(x) = k1 / (1 + exp(-k2 (x - x0))) Theta(x) with
  Theta = 0 (x < 5), 0.5 (5 <= x < 6), 1 (x >= 6).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import constants as C
from ..materials import ELEMENTS, MATERIALS
from ..units import parse_positive, parse_quantity
from .quenching import lindhard_inverse


def material_composition(material) -> dict[str, float]:
    """Element -> atoms per formula unit for a material name or mapping."""
    if isinstance(material, str):
        if material not in MATERIALS:
            raise ValueError(
                f"unknown material {material!r}; known materials: {', '.join(MATERIALS)}"
            )
        return dict(MATERIALS[material])
    if not isinstance(material, dict) or not material:
        raise ValueError(f"material must be a name or a non-empty mapping, got {material!r}")
    for element, ratio in material.items():
        if element not in ELEMENTS:
            raise ValueError(
                f"unknown element {element!r} in material {material!r}; "
                f"known: {', '.join(ELEMENTS)}"
            )
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not ratio > 0:
            raise ValueError(f"stoichiometric ratio of {element!r} must be > 0, got {ratio!r}")
    return dict(material)


def target_numbers(material, mass_kg: float) -> list[tuple[object, float]]:
    """(isotope, number of nuclei) pairs for ``mass_kg`` of ``material`` (000 Eq. 32)."""
    if not (math.isfinite(mass_kg) and mass_kg > 0):
        raise ValueError(f"detector mass must be positive, got {mass_kg!r} kg")
    pairs = []
    for element, ratio in material_composition(material).items():
        for iso in ELEMENTS[element]:
            pairs.append((iso, float(ratio) * float(iso.abundance)))
    denominator = sum(float(iso.atomic_mass_u) * eta for iso, eta in pairs)  # g/mol
    mass_g = 1e3 * mass_kg
    return [(iso, mass_g * eta / denominator * C.AVOGADRO) for iso, eta in pairs if eta > 0]


# ---------------------------------------------------------------------------------------
# efficiency
# ---------------------------------------------------------------------------------------


@dataclass
class Efficiency:
    """Efficiency A(T_nr) with the recoil energies [MeV] where it is not smooth."""

    kind: str
    params: dict

    def __call__(self, T_nr):
        T_nr = np.asarray(T_nr, dtype=float)
        if self.kind == "flat":
            return np.full_like(T_nr, self.params["value"])
        p = self.params
        x = p["pe_per_keVnr"] * T_nr * 1e3
        theta = np.where(x < 5.0, 0.0, np.where(x < 6.0, 0.5, 1.0))
        return p["k1"] / (1.0 + np.exp(-p["k2"] * (x - p["x0"]))) * theta

    @property
    def kinks(self) -> list[float]:
        if self.kind == "flat":
            return []
        ypk = self.params["pe_per_keVnr"]
        return [5.0 / ypk * 1e-3, 6.0 / ypk * 1e-3]

    @property
    def pe_per_keVnr(self):
        return self.params.get("pe_per_keVnr")


def _number(block, key, what):
    v = block.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ValueError(f"{what}.{key} must be a number, got {v!r}")
    return float(v)


def parse_efficiency(block) -> Efficiency:
    """Efficiency from a detector ``efficiency`` block (None -> flat 1)."""
    if block is None:
        return Efficiency("flat", {"value": 1.0})
    if not isinstance(block, dict):
        raise ValueError(f"detector.efficiency must be a mapping, got {block!r}")
    kind = block.get("type")
    if kind == "flat":
        v = _number(block, "value", "detector.efficiency")
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"detector.efficiency.value must be in [0, 1], got {v!r}")
        return Efficiency("flat", {"value": v})
    if kind == "coherent_csi2017":
        params = {k: _number(block, k, "detector.efficiency")
                  for k in ("k1", "k2", "x0", "pe_per_keVnr")}
        if not params["pe_per_keVnr"] > 0:
            raise ValueError("detector.efficiency.pe_per_keVnr must be positive")
        return Efficiency("coherent_csi2017", params)
    raise ValueError(
        f"unknown efficiency type {kind!r}; expected one of flat, coherent_csi2017"
    )


# ---------------------------------------------------------------------------------------
# thresholds
# ---------------------------------------------------------------------------------------


def quenching_kappa(detector: dict):
    """kappa of the detector's Lindhard quenching block (None -> default formula)."""
    q = detector.get("quenching") or {"model": "lindhard"}
    model = q.get("model", "lindhard")
    if model != "lindhard":
        raise ValueError(f"unknown quenching model {model!r}; the reference knows 'lindhard'")
    kappa = q.get("kappa")
    if kappa is not None and (isinstance(kappa, bool) or not isinstance(kappa, (int, float))
                              or not kappa > 0):
        raise ValueError(f"detector.quenching.kappa must be a positive number, got {kappa!r}")
    return kappa


def nr_thresholds(detector: dict, isotopes, efficiency: Efficiency) -> list[float]:
    """Nuclear-recoil threshold [MeV] for each isotope."""
    th = detector.get("threshold")
    q = parse_quantity(th, "detector.threshold", ("energy_nr", "energy_ee", "photoelectrons"))
    if q.value < 0:
        raise ValueError(f"detector.threshold must be >= 0, got {th!r}")
    if q.dimension == "energy_nr":
        return [q.value] * len(isotopes)
    if q.dimension == "photoelectrons":
        ypk = efficiency.pe_per_keVnr
        if ypk is None:
            raise ValueError(
                f"detector.threshold {th!r} is in PE but the efficiency block has no pe_per_keVnr"
            )
        return [q.value / ypk * 1e-3] * len(isotopes)
    kappa = quenching_kappa(detector)
    return [float(lindhard_inverse(q.value, iso.Z, iso.A, kappa)) for iso in isotopes]


@dataclass
class DetectorSetup:
    isotopes: list          # Isotope objects
    n_targets: list         # nuclei per isotope
    thresholds: list        # T_nr threshold [MeV] per isotope
    efficiency: Efficiency


def parse_detector(detector: dict) -> DetectorSetup:
    if not isinstance(detector, dict):
        raise ValueError(f"detector must be a mapping, got {detector!r}")
    mass = parse_positive(detector.get("mass"), "detector.mass", ("mass",)).value
    pairs = target_numbers(detector.get("material"), mass)
    eff = parse_efficiency(detector.get("efficiency"))
    isotopes = [iso for iso, _ in pairs]
    return DetectorSetup(isotopes, [n for _, n in pairs],
                         nr_thresholds(detector, isotopes, eff), eff)
