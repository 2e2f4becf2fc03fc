"""API views of the licensing app."""
