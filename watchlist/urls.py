from django.urls import path

from . import views

app_name = "watchlist"

urlpatterns = [
    path("stop/<str:token>/", views.stop_watching, name="stop"),
]
