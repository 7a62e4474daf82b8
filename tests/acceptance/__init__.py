"""End-to-end runs (demo, notebooks, the simulated-world claims) and repo-wide contracts (layering, parameter checks)."""
