"""Drivers that run fits on real data and return result rows (``data_results``)."""
