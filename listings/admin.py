from django.contrib import admin

from .models import Category, Listing, ListingView, PriceBenchmark, PricePoint


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "parent"]
    list_filter = [("parent", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    list_select_related = ["parent"]


class PricePointInline(admin.TabularInline):
    model = PricePoint
    extra = 0
    readonly_fields = ["price", "recorded_at"]
    can_delete = False


@admin.register(Listing)
class ListingAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "price",
        "currency",
        "category",
        "condition",
        "source",
        "zip_code",
        "deal_score",
        "is_active",
        "first_seen_at",
        "last_seen_at",
    ]
    list_filter = [
        "is_active",
        "source",
        "condition",
        "deal_score_is_computed",
        ("category", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["title", "description", "external_id", "seller", "zip_code"]
    list_select_related = ["category"]
    date_hierarchy = "first_seen_at"
    readonly_fields = ["first_seen_at", "last_seen_at", "deactivated_at", "latitude", "longitude"]
    inlines = [PricePointInline]
    list_per_page = 50
    show_full_result_count = False


@admin.register(PricePoint)
class PricePointAdmin(admin.ModelAdmin):
    list_display = ["listing", "price", "recorded_at"]
    date_hierarchy = "recorded_at"
    raw_id_fields = ["listing"]
    list_select_related = ["listing"]
    search_fields = ["listing__title", "listing__external_id"]
    show_full_result_count = False


@admin.register(PriceBenchmark)
class PriceBenchmarkAdmin(admin.ModelAdmin):
    list_display = ["category", "word", "median_price", "sample_size", "computed_at"]
    list_filter = [("category", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["word", "category__slug"]
    list_select_related = ["category"]


@admin.register(ListingView)
class ListingViewAdmin(admin.ModelAdmin):
    list_display = ["user", "listing", "viewed_at", "session_key"]
    date_hierarchy = "viewed_at"
    raw_id_fields = ["user", "listing"]
    list_select_related = ["user", "listing"]
    search_fields = ["user__email", "listing__title"]
    show_full_result_count = False
