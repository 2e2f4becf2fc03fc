"""The scale dataset of DESIGN.md §6, as the seeder (`bench/seed/`) makes it and the timer
(`bench/run/`) finds it. Both sides read these names only; change them here, not in either.

Sizes are at scale 1.0; `make bench SCALE=0.05` shrinks every count but the fixed users, for a
quick run while developing.
"""
from __future__ import annotations

PASSWORD = "bench-pass-123"

# Sizes at scale 1.0 (DESIGN.md §6).
SMART_ACCOUNTS = 300
BIG_ACCOUNT_VIRTUAL_ACCOUNTS = 2_000
BIG_ACCOUNT_MAX_DEPTH = 6          # the root DEFAULT VA is depth 0
PRODUCTS = 200
DEVICES = 100_000
USAGE_ROWS = 300_000
ORDERS = 20_000
ORDER_LINES = 100_000

# The one big account: the account home (2,000-VA tree with roll-ups) is timed on it.
BIG_ACCOUNT_NAME = "Bench Big Corp"
BIG_ACCOUNT_DOMAIN = "bench-big.example"
BIG_ACCOUNT_ADMIN = "admin@bench-big.example"          # SA admin of the big account

# The VA of the big account whose license table and device list are timed: the VA with the most
# devices of the big account (the seeder gives it a fixed share of them).
BUSY_VIRTUAL_ACCOUNT_NAME = "Bench Busy VA"
BUSY_VIRTUAL_ACCOUNT_DEVICES = 2_000   # its own devices at scale 1.0 (a leaf VA: no children)

# The partner that placed the orders (order list timed as its admin), and its holding account
# (inbox timed) with held lines waiting in it.
PARTNER_NAME = "Bench Distribution"
PARTNER_ADMIN = "partner@bench-partner.example"        # partner admin, member of the holding account
HOLDING_ACCOUNT_NAME = "Bench Holding"
HELD_LINES = 300                        # lines waiting in the holding account at scale 1.0
