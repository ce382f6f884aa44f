"""Chat services and selectors, without sockets."""

import pytest
from django.db import transaction

from chat import selectors, services
from chat.models import Membership, Message, Room
from realtime.topics import Principal

pytestmark = pytest.mark.django_db


def as_principal(user) -> Principal:  # type: ignore[no-untyped-def]
    return Principal(user_id=user.pk, name=user.username, is_staff=user.is_staff)


GUEST = Principal(user_id=None, name="guest-abc", is_guest=True)


def test_lobby_exists_after_migrations():
    lobby = Room.objects.get(slug="lobby")
    assert lobby.is_private is False


@pytest.mark.parametrize(
    "slug", ["", "UPPER", "has space", "a" * 51, "ü", "a/b", "<x>"]
)
def test_bad_room_slug_is_refused_with_a_clear_error(slug, django_user_model):
    owner = django_user_model.objects.create_user("owner")
    with pytest.raises(services.ChatRefused) as refused:
        services.room_create(slug=slug, owner=owner)
    assert refused.value.code == "invalid"
    assert not Room.objects.filter(slug=slug).exists()


def test_duplicate_room_slug_is_refused(django_user_model):
    owner = django_user_model.objects.create_user("owner")
    services.room_create(slug="dup", owner=owner)
    with pytest.raises(services.ChatRefused, match="exists"):
        services.room_create(slug="dup", owner=owner)


def test_private_room_is_readable_by_owner_members_and_staff_only(django_user_model):
    owner = django_user_model.objects.create_user("owner")
    member = django_user_model.objects.create_user("member")
    outsider = django_user_model.objects.create_user("outsider")
    staff = django_user_model.objects.create_user("staff", is_staff=True)
    room = services.room_create(slug="secret", owner=owner, is_private=True)
    services.member_add(room=room, actor=as_principal(owner), username="member")
    assert selectors.room_can_read(room, as_principal(owner))
    assert selectors.room_can_read(room, as_principal(member))
    assert selectors.room_can_read(room, as_principal(staff))
    assert not selectors.room_can_read(room, as_principal(outsider))
    assert not selectors.room_can_read(room, GUEST)


def test_guests_read_public_rooms_only_when_allowed(settings):
    lobby = Room.objects.get(slug="lobby")
    settings.CHAT_ALLOW_GUESTS = True
    assert selectors.room_can_read(lobby, GUEST)
    settings.CHAT_ALLOW_GUESTS = False
    assert not selectors.room_can_read(lobby, GUEST)


def test_only_owner_invites_and_removes(django_user_model):
    owner = django_user_model.objects.create_user("owner")
    other = django_user_model.objects.create_user("other")
    room = services.room_create(slug="club", owner=owner, is_private=True)
    with pytest.raises(services.ChatRefused) as refused:
        services.member_add(room=room, actor=as_principal(other), username="other")
    assert refused.value.code == "forbidden"
    services.member_add(room=room, actor=as_principal(owner), username="other")
    services.member_add(room=room, actor=as_principal(owner), username="other")
    assert Membership.objects.filter(room=room).count() == 1
    with transaction.atomic():
        services.member_remove(room=room, actor=as_principal(owner), username="other")
    assert not Membership.objects.filter(room=room).exists()


@pytest.mark.parametrize("text", ["", "   ", None, 5, {"a": 1}, "x" * 4001])
def test_invalid_message_text_is_refused_and_nothing_is_stored(text):
    lobby = Room.objects.get(slug="lobby")
    with pytest.raises(services.ChatRefused) as refused:
        services.message_create(room=lobby, author=GUEST, text=text)
    assert refused.value.code == "invalid"
    assert not Message.objects.exists()


def test_message_of_exactly_the_limit_is_stored_as_sent():
    lobby = Room.objects.get(slug="lobby")
    text = "<b>" + "é" * 3990 + "</b>\n"
    message = services.message_create(room=lobby, author=GUEST, text=text)
    assert Message.objects.get(pk=message.pk).text == text


def test_history_pages_by_id(django_user_model):
    lobby = Room.objects.get(slug="lobby")
    ids = [
        services.message_create(room=lobby, author=GUEST, text=f"m{i}").pk
        for i in range(120)
    ]
    newest = selectors.messages_page(lobby)
    assert [m["id"] for m in newest] == ids[-50:]
    older = selectors.messages_page(lobby, before=newest[0]["id"])
    assert [m["id"] for m in older] == ids[-100:-50]
    after = selectors.messages_page(lobby, after=ids[10])
    assert [m["id"] for m in after] == ids[11:61]


def test_deleted_messages_leave_history_and_only_moderators_delete(
    django_user_model,
):
    owner = django_user_model.objects.create_user("owner")
    other = django_user_model.objects.create_user("other")
    room = services.room_create(slug="mod", owner=owner)
    message = services.message_create(room=room, author=GUEST, text="spam")
    with pytest.raises(services.ChatRefused) as refused:
        services.message_delete(room=room, message_id=message.pk, actor=GUEST)
    assert refused.value.code == "forbidden"
    with pytest.raises(services.ChatRefused):
        services.message_delete(
            room=room, message_id=message.pk, actor=as_principal(other)
        )
    services.message_delete(room=room, message_id=message.pk, actor=as_principal(owner))
    assert selectors.messages_page(room) == []
