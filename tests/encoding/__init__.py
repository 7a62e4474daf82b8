"""Tests of `encoding`."""
