"""Tests of `neurokit`."""
