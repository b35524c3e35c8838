from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from . import confirmation
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


class ResendConfirmationView(APIView):
    """Email a new confirmation link to your address. At most one a minute and five a day: 429 with Retry-After."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        responses={
            202: inline_serializer(
                "ConfirmationSent", {"email": serializers.EmailField(), "confirmed": serializers.BooleanField()}
            ),
            200: inline_serializer(
                "AlreadyConfirmed", {"email": serializers.EmailField(), "confirmed": serializers.BooleanField()}
            ),
        },
    )
    def post(self, request):
        user = request.user
        result = confirmation.resend(user)
        if result.wait:
            raise exceptions.Throttled(wait=result.wait.total_seconds(), detail=result.message)
        answer = status.HTTP_200_OK if result.already_confirmed else status.HTTP_202_ACCEPTED
        return Response({"email": user.email, "confirmed": result.already_confirmed}, status=answer)
