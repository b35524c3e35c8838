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


def remove_categories(apps, schema_editor):
    Category = apps.get_model("listings", "Category")
    # Children first: parent is PROTECT.
    for slug, _, _ in reversed(CATEGORY_TREE):
        Category.objects.filter(slug=slug, listings__isnull=True, children__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("listings", "0001_initial")]
    operations = [migrations.RunPython(seed_categories, remove_categories)]
