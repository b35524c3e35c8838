import django.db.models.deletion
from django.db import migrations, models

INDEX = "listings_pricepoint_listing_id_7b86d271"  # the name Django gave the foreign key's own index


class Migration(migrations.Migration):
    """Drop the price points' single-column listing index: (listing, recorded_at) already serves it.

    A plain DROP INDEX: Django's AlterField would also drop and re-add the foreign key, re-checking
    every row under a lock.
    """

    dependencies = [
        ("listings", "0004_category_index_via_composite"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="pricepoint",
                    name="listing",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="price_points",
                        to="listings.listing",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {INDEX}",
                    f"CREATE INDEX {INDEX} ON listings_pricepoint (listing_id)",
                ),
            ],
        ),
    ]
