"""Pages of the licensing app."""
