"""Analyses of experiments and data sets: each builds the measurements an inference driver consumes."""
