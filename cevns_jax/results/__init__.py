"""Drivers that fit real data and write results: one module per data set, each with
``data_results(quick)`` returning rows of the results contract (:data:`COLUMNS`)."""

#: Columns of ``data_results.csv`` (one row per result).
COLUMNS = ("analysis", "quantity", "computed", "uncertainty", "published", "unit", "method",
           "reference")

#: Real-data analyses run by ``cevns-jax data``: name -> "module[:function]" (default
#: function ``data_results(quick)``).
ANALYSES = {
    "coherent_csi2017": "cevns_jax.results.coherent_csi:data_results_2017",
    "coherent_csi2021": "cevns_jax.results.coherent_csi:data_results_2021",
    "coherent_lar2020": "cevns_jax.results.coherent_lar",
    "xenonnt_er2022": "cevns_jax.results.xenonnt_er2022",
    "dresden2": "cevns_jax.results.dresden2",
    "xenonnt_8b": "cevns_jax.results.xenonnt_8b",
    "paper000_reactor_quenching": "cevns_jax.results.quenching_table",
    "global": "cevns_jax.results.global_fit",
}

#: What ``cevns-jax data`` runs without names: every data set; the global fit compiles the
#: combined model of all of them (many minutes on a 2-core CPU) and runs when named.
DEFAULT_ANALYSES = tuple(name for name in ANALYSES if name != "global")
