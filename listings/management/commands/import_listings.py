from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from listings.importer import import_rows, read_rows


class Command(BaseCommand):
    help = "Import listings from a JSON Lines (.jsonl) or CSV (.csv) file through the ingestion service."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", choices=["jsonl", "csv"], help="Default: from the file name.")
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, file: Path, format: str | None, batch_size: int, no_progress: bool, **options):
        if not file.exists():
            raise CommandError(f"No such file: {file}")
        if not 1 <= batch_size <= 1000:
            raise CommandError("--batch-size must be between 1 and 1000.")
        with file.open("rb") as handle:
            total = sum(1 for _ in handle)
        with tqdm(total=total, unit="listing", disable=no_progress, file=self.stderr._out) as bar:
            report = import_rows(read_rows(file, format), batch_size=batch_size, progress=bar.update)
        for number, errors in report.bad:
            details = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items())
            self.stderr.write(f"line {number}: {details}")
        result = report.result
        self.stdout.write(
            f"Read {report.lines} listings: {len(result.created)} created, {len(result.updated)} updated, "
            f"{len(result.repriced)} re-priced, {len(result.unchanged)} unchanged, {len(report.bad)} bad."
        )
        if report.bad:
            raise CommandError(f"{len(report.bad)} bad line(s) skipped; the rest were imported.")
