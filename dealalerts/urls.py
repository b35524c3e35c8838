from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.api import ObtainTokenView, ResendConfirmationView
from alerts.api import DealAlertRuleViewSet
from listings.api import CategoryViewSet, ListingViewSet
from metrics.api import MetricsView
from metrics.prometheus import metrics_exposition
from notifications import views as notification_views
from notifications.api import NotificationPreferencesViewSet, NotificationViewSet, PushSubscriptionViewSet
from recommendations.api import DismissalViewSet, PurchaseViewSet, RecommendationViewSet
from watchlist.api import WatchlistItemViewSet, WatchlistViewSet

from .api import router
from .health import healthz

router.register("listings", ListingViewSet, basename="listing")
router.register("categories", CategoryViewSet, basename="category")
router.register("deal-alert-rules", DealAlertRuleViewSet, basename="deal-alert-rule")
router.register("notification-preferences", NotificationPreferencesViewSet, basename="notification-preferences")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("push-subscriptions", PushSubscriptionViewSet, basename="push-subscription")
# The items first: "watchlist/items" must not be read as an item of "watchlist".
router.register("watchlist/items", WatchlistItemViewSet, basename="watchlist-item")
router.register("watchlist", WatchlistViewSet, basename="watchlist")
# Likewise "recommendations/dismissals" before "recommendations".
router.register("recommendations/dismissals", DismissalViewSet, basename="recommendation-dismissal")
router.register("recommendations", RecommendationViewSet, basename="recommendation")
router.register("purchases", PurchaseViewSet, basename="purchase")


def favicon(request: HttpRequest) -> HttpResponse:
    # Resolved per request, not at import: with the manifest storage the hashed name exists only
    # after collectstatic, which itself imports these urls.
    # Temporary (302): a browser keeps a permanent redirect even after the hashed name changes.
    return redirect(static("favicon.svg"))


api_urls = [
    re_path(r"^auth/token/?$", ObtainTokenView.as_view(), name="auth-token"),
    re_path(r"^auth/confirm-email/resend/?$", ResendConfirmationView.as_view(), name="resend-confirmation"),
    re_path(r"^metrics/?$", MetricsView.as_view(), name="metrics"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("", include(router.urls)),
]

handler404 = "dealalerts.api.page_not_found"
handler500 = "dealalerts.api.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include((api_urls, "api"))),
    path("healthz", healthz, name="healthz"),
    # Prometheus' scrape (bearer token or a staff session); see "Operations" in the README.
    re_path(r"^metrics/?$", metrics_exposition, name="prometheus-metrics"),
    # Browsers ask for /favicon.ico whatever the page links; send them to the SVG the pages link.
    path("favicon.ico", favicon),
    path("sw.js", notification_views.service_worker, name="service-worker"),  # web push: scope is the whole site
    path("accounts/", include("accounts.urls")),
    path("alerts/", include("alerts.urls")),
    path("staff/", include("metrics.urls")),
    path("notifications/", include("notifications.urls")),
    path("watchlist/", include("watchlist.urls")),
    path("for-you/", include("recommendations.urls")),
    # The configured ESP's tracking webhook only (delivered, bounced, …), once ANYMAIL_WEBHOOK_SECRET is set.
    path("anymail/", include("notifications.webhooks")),
    path("twilio/", include("notifications.sms_webhooks")),
    path("", include("listings.urls")),
]
