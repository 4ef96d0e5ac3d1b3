"""The CDEX CSV loader reads a UTF-8 byte-order mark and names a bad exposure line."""

import numpy as np
import pytest

from cevns_jax.analyses import cdex10 as cdex

TEXT = ("# units: energy=keVee, rate=counts/(kg keVee day)\n"
        "# exposure: 205.4 kg day\n"
        "E_keVee_lo,E_keVee_hi,rate,uncertainty\n"
        "0.16,0.26,3.5,0.4\n0.26,0.36,2.5,0.3\n")


def test_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + TEXT.encode())   # spreadsheet exports add a BOM
    spectrum = cdex.load_spectrum_csv(path)
    # values read back exactly as written (decimal literals -> float64)
    assert np.array_equal(spectrum.edges_kevee, [0.16, 0.26, 0.36])
    assert spectrum.exposure_kg_day == 205.4


@pytest.mark.parametrize("line", ["# exposure: e kg day", "# exposure: 205.4 kg",
                                  "# Exposure: lots"])
def test_unreadable_exposure_line_is_named(tmp_path, line):
    path = tmp_path / "bad.csv"
    path.write_text(TEXT.replace("# exposure: 205.4 kg day", line))
    with pytest.raises(ValueError, match=r"bad.csv: cannot read the exposure line .*"
                                         r"expected '# exposure: <number> kg day'"):
        cdex.load_spectrum_csv(path)
