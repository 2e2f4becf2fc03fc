"""`make bench`: the DESIGN.md §6 scale dataset, seeded fast, and pages timed against bare SQL."""
