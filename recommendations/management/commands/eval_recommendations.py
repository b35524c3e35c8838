"""eval_recommendations: the offline evaluation as one JSON object.

"movielens" compares the collaborative model with a popularity baseline and the `implicit`
library on public data (`recommendations.evaluation.movielens_report`); "demo" measures the whole
recommender on the demo data in the database (`recommendations.demo_evaluation.demo_report`).
"""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from recommendations import demo_evaluation, evaluation

PARTS = ("movielens", "demo")


class Command(BaseCommand):
    help = "Evaluate the recommender offline (MovieLens against implicit, and the demo data); prints JSON."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--only", choices=PARTS, help="run one part of the evaluation")

    def handle(self, *args: Any, only: str | None = None, **options: Any) -> None:
        reports: dict[str, Any] = {}
        try:
            if only in (None, "movielens"):
                reports["movielens"] = evaluation.movielens_report()
            if only in (None, "demo"):
                reports["demo"] = demo_evaluation.demo_report()
        except RuntimeError as error:  # a development dependency is missing: say which
            raise CommandError(str(error)) from error
        self.stdout.write(json.dumps(reports, indent=2))
