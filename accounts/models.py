from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.db import models
from timezone_field import TimeZoneField

from dealalerts.encryption import EncryptedTextField

from .geo import lookup_zip


def validate_us_zip(value: str) -> None:
    if value and lookup_zip(value) is None:
        raise ValidationError("Enter a known 5-digit US ZIP code.", code="unknown_zip")


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A shopper (or staff member) who signs in with an email address."""

    username = None
    email = models.EmailField("email address", unique=True)
    time_zone = TimeZoneField(default="UTC", help_text="IANA time zone; quiet hours and digests follow it.")
    home_zip = models.CharField(
        "home ZIP code",
        max_length=5,
        blank=True,
        validators=[validate_us_zip],
        help_text="Used for distances when an alert names a radius but no location.",
    )
    # Set when the user follows the link we emailed; until then no alert goes to the address.
    email_confirmed_at = models.DateTimeField(null=True, blank=True)
    # A mobile number in E.164 for SMS, encrypted at rest; `phone_digest` (a keyed hash, see
    # dealalerts.encryption) finds the user an inbound SMS comes from. Verified by a texted code.
    phone_number = EncryptedTextField(blank=True, help_text="E.164, e.g. +12015550123.")
    phone_digest = models.CharField(max_length=64, blank=True, db_index=True)
    phone_verified = models.BooleanField(default=False)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    def __str__(self) -> str:
        return self.email


class PhoneVerification(models.Model):
    """A one-time code texted to a phone a user entered: only its hash is kept.

    One per user at a time (a new code deletes the one before); it ends when used, expired, or
    after too many wrong tries.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="phone_verifications")
    phone_number = EncryptedTextField()
    phone_digest = models.CharField(max_length=64)
    code_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Wrong codes tried.")
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"], name="phone_verification_latest")]

    def __str__(self) -> str:
        return f"phone code for user {self.user_id}, sent {self.created_at:%Y-%m-%d %H:%M}"
