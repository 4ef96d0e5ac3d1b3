"""Bad input raises errors that name the bad value; nothing returns a silent NaN."""

import jax
import pytest

from cevns_jax.experiments import ConfigError, build_experiment, get_config
from cevns_jax.materials import MaterialError, target_counts
from cevns_jax.precision import PrecisionError
from cevns_jax.units import UnitError


def _config(**detector):
    cfg = get_config("CONUS", "current")
    cfg["detector"].update(detector)
    return cfg


def test_unknown_material_is_named():
    with pytest.raises(MaterialError, match="Unobtainium"):
        build_experiment(_config(material="Unobtainium"))


def test_unknown_element_is_named():
    with pytest.raises(MaterialError, match="'Qx'"):
        build_experiment(_config(material={"Ge": 1, "Qx": 1}))


def test_negative_mass_is_rejected():
    with pytest.raises(UnitError, match="detector.mass.*-3 kg"):
        build_experiment(_config(mass="-3 kg"))
    with pytest.raises(MaterialError, match="positive"):
        target_counts("Ge", -1.0)


def test_negative_exposure_is_rejected():
    cfg = get_config("CONUS", "current")
    cfg["source"]["time"] = "-1 yr"
    with pytest.raises(UnitError, match="source.time"):
        build_experiment(cfg)
    cfg = get_config("COHERENT-CsI", "current")
    cfg["source"]["pot"] = "0 POT"
    with pytest.raises(UnitError, match="source.pot"):
        build_experiment(cfg)


def test_missing_unit_names_the_field():
    with pytest.raises(UnitError, match="detector.mass.*has no unit"):
        build_experiment(_config(mass=3.85))
    with pytest.raises(UnitError, match="unknown unit 'furlong'"):
        build_experiment(_config(mass="3 furlong"))
    with pytest.raises(UnitError, match="is a mass but a energy nr"):
        build_experiment(_config(threshold="3 kg"))


def test_threshold_above_kinematic_end_point():
    # RED100 read as electron-equivalent: 500 eVee is 2.8 keVnr in Xe, above T_max(10 MeV)
    cfg = get_config("RED100", "current")
    cfg["detector"]["threshold"] = "500 eVee"
    with pytest.raises(ConfigError, match="above the largest recoil"):
        build_experiment(cfg)
    cfg = get_config("COHERENT-CsI", "current")
    cfg["detector"]["threshold"] = "100 keVnr"
    with pytest.raises(ConfigError, match="100 keV|0.1"):
        build_experiment(cfg)


def test_unknown_options_are_named():
    cfg = get_config("CONUS", "current")
    cfg["physics"]["form_factor"] = "gaussian"
    with pytest.raises(ConfigError, match="'gaussian'"):
        build_experiment(cfg)
    cfg = get_config("CONUS", "current")
    cfg["source"]["spectrum"]["low_energy"] = "guess"
    with pytest.raises(ValueError, match="'guess'"):
        build_experiment(cfg)
    cfg = get_config("CONUS", "current")
    cfg["source"]["fission_fractions"] = {"U235": 0.5, "U238": 0.1}
    with pytest.raises(ValueError, match="sum to 1"):
        build_experiment(cfg)
    with pytest.raises(KeyError, match="NOPE"):
        get_config("NOPE")


def test_float32_configuration_is_refused():
    jax.config.update("jax_enable_x64", False)
    try:
        with pytest.raises(PrecisionError, match="jax_enable_x64"):
            build_experiment(get_config("CONUS", "current"))
    finally:
        jax.config.update("jax_enable_x64", True)
