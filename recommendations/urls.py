from django.urls import path

from . import views

app_name = "recommendations"

urlpatterns = [
    path("", views.for_you, name="page"),
    path("why/<int:listing_id>/", views.why, name="why"),
    path("<int:listing_id>/not-interested/", views.not_interested, name="not_interested"),
    path("<int:listing_id>/interested/", views.interested_again, name="interested"),
    path("bought/<int:listing_id>/", views.mark_bought, name="bought"),
    path("bought/<int:listing_id>/remove/", views.unmark_bought, name="unbought"),
    path("go/<str:token>/", views.go, name="go"),
]
