from django.apps import AppConfig


class RecommendationsConfig(AppConfig):
    name = "recommendations"

    def ready(self) -> None:
        from notifications import digest_sections

        from .digest import RECOMMENDED, SELLERS

        # notifications must not import recommendations: the digest learns of these sections here.
        digest_sections.register(RECOMMENDED)
        digest_sections.register(SELLERS)
