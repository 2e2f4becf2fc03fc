"""`python manage.py bench_run`: time the key pages and endpoints on a real gunicorn server
against the bare SQL, and device usage reporting under load (bench/run/, DESIGN.md §6).

Run it against a database seeded by `manage.py bench_seed`, with DATABASE_URL pointing at it:
the query counts are taken in this process, on the same database as the server's."""
from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from bench import run as bench


class Command(BaseCommand):
    help = "Time pages, endpoints and usage reporting under load against the bare SQL (bench/run/)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--requests", type=int, default=30, help="Timed requests per page (default %(default)s).")
        parser.add_argument("--warmup", type=int, default=3, help="Untimed requests first (default %(default)s).")
        parser.add_argument("--load-seconds", type=float, default=10, help="Each load phase (default %(default)s s).")
        parser.add_argument("--clients", type=int, default=32, help="Concurrent devices (default %(default)s; 0: no load).")
        parser.add_argument("--workers", type=int, default=None,
                            help=f"gunicorn sync workers (default cores + 1 = {bench.default_workers()}).")
        parser.add_argument("--out-dir", default=str(Path(settings.BASE_DIR) / "bench" / "results"),
                            help="Where latest.json/.md and the dated copy go (default %(default)s).")
        parser.add_argument("--broker-url", default=None,
                            help="A Celery broker for the server (default none: tasks run eagerly, mail goes nowhere).")
        parser.add_argument("--only", nargs="*", default=None, help="Time only these targets (names as in the table).")
        parser.add_argument("--no-load", action="store_true", help="Time the pages and endpoints only.")
        parser.add_argument("--pg-options", default=None,
                            help='PostgreSQL options for the server\'s and the bare SQL\'s connections, e.g. "-c jit=off".')
        parser.add_argument("--profile", action="store_true",
                            help="Write a cProfile of each target missing its goal to <out-dir>/profiles/.")

    def handle(self, *args, **options) -> None:
        database_url = os.environ.get("DATABASE_URL", "")
        if not database_url:
            raise CommandError("Set DATABASE_URL=postgres://… to the seeded database (manage.py bench_seed).")
        try:
            bench.run(
                database_url=database_url, out_dir=options["out_dir"], requests_per_page=options["requests"],
                warmup=options["warmup"], load_seconds=options["load_seconds"], clients=options["clients"],
                workers=options["workers"], broker_url=options["broker_url"], only=options["only"],
                skip_load=options["no_load"], profile=options["profile"],
                pg_options=options["pg_options"], stdout=self.stdout,
            )
        except bench.BenchError as exc:
            raise CommandError(str(exc)) from exc
