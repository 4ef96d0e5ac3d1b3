"""Drivers that run fits on real data and report results (``data_results(quick)`` each)."""
