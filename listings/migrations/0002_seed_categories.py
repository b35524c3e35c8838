from django.db import migrations

from listings.taxonomy import CATEGORY_TREE


def seed_categories(apps, schema_editor):
    Category = apps.get_model("listings", "Category")
    by_slug = {}
    for slug, name, parent_slug in CATEGORY_TREE:
        category, _ = Category.objects.get_or_create(
            slug=slug, defaults={"name": name, "parent": by_slug.get(parent_slug)}
        )
        by_slug[slug] = category


class Migration(migrations.Migration):
    dependencies = [("listings", "0001_initial")]
    # Reversing keeps the rows: listings may point at them, seeding again is idempotent,
    # and reversing 0001 drops the table anyway.
    operations = [migrations.RunPython(seed_categories, migrations.RunPython.noop)]
