"""Tests of `cortex2image`."""
