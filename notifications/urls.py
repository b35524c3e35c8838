from django.urls import path

from . import views

app_name = "notifications"
urlpatterns = [
    path("", views.history, name="history"),
    path("settings/", views.settings_page, name="settings"),
    path("settings/phone/", views.phone_section, name="settings-phone"),
    path("settings/discord/", views.discord_section, name="settings-discord"),
    path("settings/push/", views.push_section, name="settings-push"),
    path("settings/push/devices/", views.push_devices, name="settings-push-devices"),
    path("settings/test/<slug:channel>/", views.test_send, name="settings-test"),
    path("settings/<slug:section>/", views.settings_section, name="settings-section"),
    path("digest/preview/", views.digest_preview, name="digest-preview"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("c/<str:token>/", views.click, name="click"),
    path("o/<str:token>.gif", views.open_pixel, name="open"),
]
