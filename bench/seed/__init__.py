"""The DESIGN.md §6 scale dataset that `make bench` times, seeded fast: every row is planned in
Python from one seeded random generator and written with COPY on PostgreSQL (batched INSERTs
elsewhere); what the app keeps derived (open shortages, daily snapshots) comes from its own
selectors and services. Sizes and the names the timer looks up are in `bench/dataset.py`.

The package, stage by stage: `sizes` (counts at a scale), `plan` (the in-memory records),
`db` (COPY, and loading without indexes), one module per stage (`accounts`, `catalogue`,
`devices`, `orders`, `compliance`, `events`), `seeder` (the stages in order, `seed()`), and
`checks` (do the pages show it). This module re-exports the interface; the modules import each
other, never this package.
"""
from .checks import PageCheck, check_pages, compliance_disagreements
from .seeder import database_name, seed
from .sizes import (
    BIG_ACCOUNT_DEVICE_SHARE,
    HISTORY_DAYS,
    RANDOM_SEED,
    SILENT_SHARE,
    SNAPSHOT_DAYS,
    SeedRefused,
    Sizes,
    sizes,
)

__all__ = [
    "RANDOM_SEED", "HISTORY_DAYS", "SNAPSHOT_DAYS", "BIG_ACCOUNT_DEVICE_SHARE", "SILENT_SHARE",
    "SeedRefused", "Sizes", "sizes", "seed", "database_name",
    "PageCheck", "compliance_disagreements", "check_pages",
]
