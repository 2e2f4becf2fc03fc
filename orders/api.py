"""API views of the orders app."""
