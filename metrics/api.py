"""`/api/metrics` (staff): the metrics page's figures as JSON, for a dashboard or a script."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import summary


class WindowSerializer(serializers.Serializer):
    days = serializers.ChoiceField(choices=summary.WINDOWS, required=False, default=summary.DEFAULT_WINDOW)


class PointSerializer(serializers.Serializer):
    day = serializers.DateField()
    value = serializers.FloatField(allow_null=True)


class MetricSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    measured_as = serializers.CharField(help_text="What is counted, over what.")
    target_label = serializers.CharField(help_text='The seed\'s target in words, e.g. "more than 25%".')
    target = serializers.FloatField(help_text="A rate or share; for a target against the previous period, the change.")
    against_previous = serializers.BooleanField(help_text="The target is a change on the previous period.")
    value = serializers.FloatField(allow_null=True, help_text="Null: nothing to measure in the window yet.")
    previous = serializers.FloatField(allow_null=True, help_text="The same over the previous period.")
    change = serializers.FloatField(allow_null=True, help_text="value ÷ previous − 1.")
    with_machines = serializers.FloatField(allow_null=True, help_text="The rate counting proxies and scanners too.")
    numerator = serializers.IntegerField()
    denominator = serializers.IntegerField()
    meets = serializers.BooleanField(allow_null=True, help_text="Null: not enough data to judge.")
    series = serializers.SerializerMethodField()

    def get_series(self, metric: summary.Metric) -> list[dict]:
        return [{"day": day, "value": value} for day, value in metric.series]


class MetricsResponseSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    start = serializers.DateField()
    end = serializers.DateField()
    counted_at = serializers.DateTimeField(allow_null=True, help_text="When the event log was last rolled up.")
    metrics = MetricSerializer(many=True)


class MetricsView(APIView):
    permission_classes = [permissions.IsAdminUser]

    @extend_schema(
        parameters=[OpenApiParameter("days", int, enum=list(summary.WINDOWS), description="The window (default 30).")],
        responses=MetricsResponseSerializer,
        summary="The seed's success metrics (staff only)",
    )
    def get(self, request: Request) -> Response:
        window = WindowSerializer(data=request.query_params)
        window.is_valid(raise_exception=True)
        days = window.validated_data["days"]
        metrics, rows, window_ = summary.metrics_for(days, timezone.now())
        body = {
            "days": days,
            "start": window_.start,
            "end": window_.end,
            "counted_at": rows.rolled_up_at,
            "metrics": metrics,
        }
        return Response(MetricsResponseSerializer(body).data)
