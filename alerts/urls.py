from django.urls import path

from . import views

app_name = "alerts"
urlpatterns = [
    path("", views.rule_list, name="rules"),
    path("new/", views.rule_new, name="new"),
    path("preview/", views.rule_preview, name="preview"),
    path("restore/", views.rule_restore, name="restore"),
    path("<int:rule_id>/edit/", views.rule_edit, name="edit"),
    path("<int:rule_id>/test/", views.rule_test, name="test"),
    path("<int:rule_id>/toggle/", views.rule_toggle, name="toggle"),
    path("<int:rule_id>/delete/", views.rule_delete, name="delete"),
]
