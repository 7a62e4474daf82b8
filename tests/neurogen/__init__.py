"""Tests of `neurogen`."""
