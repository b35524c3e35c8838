from django.urls import path

from . import views

app_name = "watchlist"

urlpatterns = [
    path("", views.watchlist_page, name="page"),
    path("<int:item_id>/target/", views.watchlist_target, name="target"),
    path("<int:item_id>/remove/", views.watchlist_remove, name="remove"),
    path("restore/", views.watchlist_restore, name="restore"),
    path("watch/<int:listing_id>/", views.watch_listing, name="watch"),
    path("stop/<str:token>/", views.stop_watching, name="stop"),
]
