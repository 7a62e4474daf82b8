"""The test suite: one folder per package, plus acceptance/ (end-to-end runs and repo-wide contracts)."""
