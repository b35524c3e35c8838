from django.urls import path

from . import views

app_name = "listings"
urlpatterns = [
    path("", views.browse, name="browse"),
    path("listings/<int:pk>/", views.listing_detail, name="detail"),
    path("listings/<int:pk>/chart.png", views.listing_chart_png, name="chart"),
]
