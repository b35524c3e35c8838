from django.db import migrations, models

from dealalerts.db import update_rows
from listings.text import listing_words

INDEX = "listing_search_words"
# The words as an array, so GIN indexes each distinct word of a listing once (array_ops): a
# keyword finds its listings with `@>`; listings.selectors.has_phrase writes the same expression.
# Byte order (COLLATE "C"): the words are only ever compared for equality, and ingestion, which
# sorts each listing's words into the index, is measurably cheaper without the locale's rules.
CREATE_INDEX = (
    f"CREATE INDEX {INDEX} ON listings_listing USING gin ((string_to_array(btrim(search_words), ' ')) COLLATE \"C\")"
)
BATCH = 2000


def fill_search_words(apps, schema_editor):
    """Existing listings get their words, as ingestion writes them for new ones."""
    Listing = apps.get_model("listings", "Listing")
    batch = []
    for pk, title, description in Listing.objects.order_by("id").values_list("id", "title", "description").iterator(
        chunk_size=BATCH
    ):
        batch.append({"id": pk, "search_words": listing_words(title, description)})
        if len(batch) == BATCH:
            update_rows(Listing, batch, ("search_words",))
            batch = []
    update_rows(Listing, batch, ("search_words",))


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE_INDEX)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    """Listing.search_words: the folded words browse, the backtest and the matcher share.

    The GIN index exists on PostgreSQL only (SQLite has no GIN; there the LIKE scans, which a
    first-run database of a few thousand listings does not notice), so it is created here rather
    than declared in Meta.indexes.
    """

    dependencies = [
        ("listings", "0005_pricepoint_index_via_composite"),
    ]

    operations = [
        migrations.AddField(
            model_name="listing",
            name="search_words",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.RunPython(fill_search_words, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(create_index, drop_index),
    ]
