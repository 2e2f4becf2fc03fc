"""Pages of the orders app."""
