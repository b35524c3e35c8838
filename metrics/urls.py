from django.urls import path

from . import operations_views, views

app_name = "metrics"

urlpatterns = [
    path("metrics/", views.metrics_page, name="metrics"),
    path("metrics/chart/<slug:metric>.svg", views.metric_chart, name="chart"),
    path("operations/", operations_views.operations_page, name="operations"),
    path("operations/panel/", operations_views.operations_panel, name="operations-panel"),
]
