"""Drivers that fit released data sets and report results against the published numbers."""
