from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from .signin_limits import SignInRefused, authenticate_limited


class TokenRequestSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})

    def validate(self, attrs):
        try:
            user = authenticate_limited(self.context["request"], attrs["email"].lower(), attrs["password"])
        except SignInRefused as refusal:
            raise exceptions.Throttled(wait=refusal.retry_after, detail=str(refusal)) from None
        if user is None:
            raise serializers.ValidationError({"password": ["Email or password is wrong."]})
        attrs["user"] = user
        return attrs


class ObtainTokenView(APIView):
    """Trade an email and password for an API token, sent as `Authorization: Token …`."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes = [AnonRateThrottle]

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: inline_serializer("TokenResponse", {"token": serializers.CharField()})},
        auth=[],
    )
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        token, _ = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response({"token": token.key}, status=status.HTTP_200_OK)
