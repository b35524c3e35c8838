"""`{% category_picker %}`: the category tree as checkboxes grouped by top-level category.

One widget for every form that picks categories (an alert's categories, the notification
settings' category filters): a box per top-level category (a `<details>`, open when something in
it is chosen) with the category's own checkbox and its subcategories under it, and a summary
("2 selected: Laptops, Bikes") rendered here and kept current by static/js/category-picker.js.
"""

from django import template

from listings.selectors import category_groups, selection_summary

register = template.Library()


@register.inclusion_tag("listings/_category_picker.html")
def category_picker(
    name: str, selected: list[str] | None, field_id: str, legend: str, help_text: str, errors: list[str] | None = None
) -> dict:
    groups = category_groups(selected or [])
    names = [choice.name for group in groups for choice in group.choices if choice.selected]
    return {
        "name": name,
        "field_id": field_id,
        "legend": legend,
        "help_text": help_text,
        "errors": errors or [],
        "groups": groups,
        "summary": selection_summary(names),
    }
