"""Account and room pages through Django's test client."""

import pytest
from django.test import Client

from chat.models import Room

pytestmark = pytest.mark.django_db


def test_signup_logs_the_new_user_in():
    client = Client()
    response = client.post(
        "/accounts/signup/",
        {
            "username": "newbie",
            "password1": "a-long-pass-phrase-42",
            "password2": "a-long-pass-phrase-42",
        },
    )
    assert response.status_code == 302
    assert client.get("/chat/").context["user"].username == "newbie"


def test_signup_with_mismatched_passwords_is_400_with_the_form():
    response = Client().post(
        "/accounts/signup/",
        {"username": "x", "password1": "a-long-pass-42", "password2": "other-pass-42"},
    )
    assert response.status_code == 400
    assert b"password" in response.content


def test_login_and_logout_pages(django_user_model):
    django_user_model.objects.create_user("sam", password="pw-for-tests-1")
    client = Client()
    assert client.get("/accounts/login/").status_code == 200
    response = client.post(
        "/accounts/login/", {"username": "sam", "password": "pw-for-tests-1"}
    )
    assert response.status_code == 302
    assert client.post("/accounts/logout/").status_code == 302


def test_room_is_created_from_the_ui_and_a_bad_slug_gets_a_clear_error(
    django_user_model,
):
    user = django_user_model.objects.create_user("owner")
    client = Client()
    client.force_login(user)
    bad = client.post("/chat/", {"slug": "Bad Slug!", "title": "x"})
    assert bad.status_code == 400
    assert b"lowercase letters" in bad.content
    good = client.post(
        "/chat/", {"slug": "team-1", "title": "Team", "is_private": "on"}
    )
    assert good.status_code == 302
    room = Room.objects.get(slug="team-1")
    assert (room.is_private, room.owner_id) == (True, user.pk)


def test_guest_gets_a_stable_guest_name_in_the_session():
    client = Client()
    Room.objects.get_or_create(slug="lobby")
    first = client.get("/chat/lobby/").context["principal"].name
    second = client.get("/chat/lobby/").context["principal"].name
    assert first == second
    assert first.startswith("guest-")


def test_guest_cannot_create_rooms():
    response = Client().post("/chat/", {"slug": "guestroom"})
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    assert not Room.objects.filter(slug="guestroom").exists()
