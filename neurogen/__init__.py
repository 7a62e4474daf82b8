"""neurogen package."""
