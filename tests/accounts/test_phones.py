"""Phone numbers: what a user may type, what is refused and why, and the masked form."""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from accounts.phones import mask_phone, parse_mobile
from tests.factories import UserFactory


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("+1 201 555 0123", "+12015550123"),
        ("(201) 555-0123", "+12015550123"),  # national format: the first allowed country
        ("201.555.0123", "+12015550123"),
        ("  +1-201-555-0123  ", "+12015550123"),
        ("+1 613 555 0123", "+16135550123"),  # Ottawa: Canada is allowed by default
        ("011 1 201 555 0123", "+12015550123"),  # the US international prefix
    ],
)
def test_mobile_capable_numbers_become_e164(typed, e164):
    assert parse_mobile(typed) == e164


@pytest.mark.parametrize(
    ("typed", "code", "says"),
    [
        ("", "empty", "Enter a mobile number in the US or Canada, like +1 201-555-0123."),
        ("   ", "empty", "Enter a mobile number in the US or Canada"),
        ("call me", "letters", "A phone number has digits only."),
        ("1-800-FLOWERS", "letters", "digits only"),
        ("+1 201 555 0123 ext 9", "letters", "digits only"),
        ("1" * 33, "too_long", "too long for a phone number"),
        ("+1 201 555 01234", "invalid", "not a valid phone number"),
        ("+15551234567", "invalid", "not a valid phone number"),  # 555 is no area code
        ("12", "invalid", "not a valid phone number"),
        ("+", "invalid", "not a phone number"),
        ("+1 900 555 1234", "not_mobile", "Premium-rate numbers cannot receive alerts."),
        ("+1 800 555 1234", "not_mobile", "Toll-free numbers cannot receive text alerts."),
        ("+1 500 555 0006", "not_mobile", "cannot receive texts"),  # a personal number (Twilio's test sender)
        ("+44 7911 123456", "country", "Alerts cannot be texted to that country."),
        ("+1 876 555 0123", "country", "that country"),  # Jamaica shares +1
        ("+33 6 12 34 56 78", "country", "that country"),
        ("\x00\x00", "invalid", "not a phone number"),
        ("\ud800", "invalid", "not a phone number"),
        ("<script>alert(1)</script>", "letters", "digits only"),
        ("'; DROP TABLE accounts_user; --", "letters", "digits only"),
    ],
)
def test_what_cannot_take_a_text_is_refused_in_words(typed, code, says):
    with pytest.raises(ValidationError) as refused:
        parse_mobile(typed)
    assert refused.value.code == code
    assert says in refused.value.message


def test_a_landline_is_refused_where_the_library_can_tell(settings):
    settings.SMS_ALLOWED_COUNTRIES = ["GB"]
    with pytest.raises(ValidationError, match="That is a landline"):
        parse_mobile("+44 20 7946 0018")
    assert parse_mobile("+44 7400 123456") == "+447400123456"
    with pytest.raises(ValidationError, match="Enter a mobile number in the UK, like"):
        parse_mobile("")


def test_national_format_follows_the_first_allowed_country(settings):
    settings.SMS_ALLOWED_COUNTRIES = ["CA", "US"]
    assert parse_mobile("(613) 555-0123") == "+16135550123"
    with pytest.raises(ValidationError, match="in Canada or the US"):
        parse_mobile("")


@given(st.text(max_size=60))
def test_any_text_is_a_number_or_a_validation_error(typed):
    try:
        e164 = parse_mobile(typed)
    except ValidationError:
        return
    assert e164.startswith("+1") and e164[1:].isdigit() and len(e164) == 12


@pytest.mark.parametrize(
    ("e164", "masked"),
    [("+12015550123", "+1 •••-•••-0123"), ("+447911123456", "+44 ••••••-3456"), ("", "")],
)
def test_masked_numbers_keep_the_country_and_last_four_digits(e164, masked):
    assert mask_phone(e164) == masked


def test_staff_see_the_phone_masked_in_the_user_admin(admin_client, db):
    user = UserFactory(phone_number="+12015550123", phone_verified=True)

    listing = admin_client.get("/admin/accounts/user/").content.decode()
    change = admin_client.get(f"/admin/accounts/user/{user.pk}/change/").content.decode()

    for page in (listing, change):
        assert "+1 •••-•••-0123" in page
        assert "2015550123" not in page
    assert admin_client.get("/admin/accounts/phoneverification/").status_code == 404  # codes are not staff's to see
