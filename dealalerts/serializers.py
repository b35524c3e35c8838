"""Strict input fields the API's writes share: a number is a number, and an unknown field is named."""

from django.http import QueryDict
from rest_framework import serializers

MAX_ID = 2**63 - 1  # the largest primary key; a bigger number would overflow the database's integer


def _from_json(field: serializers.Field) -> bool:
    """A form body carries only text; JSON has numbers, so there a number sent as a string is a mistake."""
    return not isinstance(getattr(field.root, "initial_data", None), QueryDict)


class StrictIntegerField(serializers.IntegerField):
    """An integer, not `true`, `"5"` or `5.5` (DRF's own field takes all three)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or (isinstance(data, float) and not data.is_integer()):
            self.fail("invalid")
        if isinstance(data, str) and _from_json(self):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictPriceField(serializers.DecimalField):
    """A price as a JSON number (or form text): not `true`, not `"320"`."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 12)
        kwargs.setdefault("decimal_places", 2)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or (isinstance(data, str) and _from_json(self)):
            self.fail("invalid")
        return super().to_internal_value(data)


class ClosedSerializer(serializers.Serializer):
    """Unknown fields are an error naming them, not silently ignored (a typo would drop the target)."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


def valid(serializer_class: type[serializers.Serializer], data) -> dict:
    """The validated data, or a 400 naming each bad field."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
