"""encoding package."""
