"""`python manage.py bench_seed [--scale 1.0] [--force] [--check]`: wipe the bench database and
seed the DESIGN.md §6 scale dataset into it (bench/seed/); `--check` then fetches the timed
pages as their users and fails unless each answers 200 with real data."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from bench import seed as bench_seed


class Command(BaseCommand):
    help = "Wipe the bench database and seed the DESIGN.md §6 scale dataset (refuses a database not named *bench*)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--scale", type=float, default=1.0, help="Multiply every size by this (default 1.0).")
        parser.add_argument("--force", action="store_true",
                            help="Seed even though the database's name does not contain 'bench' (it is wiped!).")
        parser.add_argument("--check", action="store_true",
                            help="Afterwards, fetch the timed pages as their users and check they show the data.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bars on stderr.")

    def handle(self, *args, scale: float, force: bool, check: bool, no_progress: bool, **options) -> None:
        if not scale > 0:
            raise CommandError("--scale must be positive.")
        self.stdout.write(f"Seeding the bench dataset at scale {scale} into {bench_seed.database_name()!r}:")
        try:
            result = bench_seed.seed(scale=scale, stdout=self.stdout, force=force, progress=not no_progress)
        except bench_seed.SeedRefused as exc:
            raise CommandError(str(exc))
        width = max(len(label) for label in result["counts"])
        for label, count in result["counts"].items():
            self.stdout.write(f"  {label:<{width}} {count:>10,}")
        self.stdout.write(self.style.SUCCESS(f"Seeded in {result['total_seconds']:.1f} s."))
        if check:
            self._check()

    def _check(self) -> None:
        problems = []
        disagreements = bench_seed.compliance_disagreements()
        self.stdout.write(f"Pools whose shortage record disagrees with their usage: {disagreements}")
        if disagreements:
            problems.append(f"{disagreements} pools disagree with their shortage record")
        for page in bench_seed.check_pages():
            verdict = "ok" if page.ok else f"missing {page.missing}" if page.status == 200 else "FAILED"
            self.stdout.write(f"  {page.status} {page.seconds:6.2f} s  {page.user:<32} {page.url}  {verdict}")
            if not page.ok:
                problems.append(f"{page.url} as {page.user}: status {page.status}, missing {page.missing}")
        if problems:
            raise CommandError("The seeded data does not show as it should: " + "; ".join(problems))
        self.stdout.write(self.style.SUCCESS("Every timed page shows the seeded data."))
