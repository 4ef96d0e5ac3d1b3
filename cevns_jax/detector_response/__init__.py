"""Detector responses of real-data analyses: recoil energy and time -> observed bins."""
