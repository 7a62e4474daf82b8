"""cortex2image package."""
