"""What the API reads and answers, as marshmallow schemas: checked on the way in, and
turned into the OpenAPI document. Unknown fields are refused (marshmallow's default)."""

from marshmallow import Schema, ValidationError, fields, validate

from chatapp.forms import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from chatapp.models import MAX_ID, VISIBILITIES
from chatapp.names import MAX_NAME_LENGTH, InvalidName, normalise_name
from chatapp.profiles import (
    MAX_ABOUT_LENGTH,
    MAX_DISPLAY_NAME_LENGTH,
    display_name_problem,
    email_problem,
)

MAX_PAGE = 100
MAX_TOKEN_NAME_LENGTH = 64
MAX_ANNOUNCEMENT_LENGTH = 500
DEFAULT_TOKEN_NAME = "API token"


class Name(fields.String):
    """A username or room name, checked against the naming rule and kept normalised."""

    def __init__(self, **kwargs):
        metadata = {"minLength": 1, "maxLength": MAX_NAME_LENGTH, **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) > 4 * MAX_NAME_LENGTH:
            raise ValidationError(f"That name is too long: at most {MAX_NAME_LENGTH} characters.")
        try:
            return normalise_name(text)
        except InvalidName as error:
            raise ValidationError(str(error)) from None


class Flag(fields.Boolean):
    """true or false, and nothing that merely looks like one."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class Email(fields.String):
    """An email address, or "" for none; its length is checked before its pattern."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        problem = text and email_problem(text)
        if problem:
            raise ValidationError(problem)
        return text


class Stripped(fields.String):
    """Text with the spaces around it dropped."""

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip()


class DisplayName(Stripped):
    """A display name: not too long, and nothing invisible that could disguise it."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        problem = display_name_problem(text)
        if problem:
            raise ValidationError(problem)
        return text


def identifier(strict=True, **kwargs):
    """A message's id: a JSON integer in a body, digits in a query."""
    return fields.Integer(strict=strict, validate=validate.Range(1, MAX_ID), **kwargs)


def time_field():
    """A time in UTC, ISO 8601 with a Z."""
    return fields.String(required=True, metadata={"format": "date-time"})


# Errors


class ErrorBodySchema(Schema):
    """What went wrong."""

    code = fields.String(required=True, metadata={"description": "for programs: not_found, ..."})
    message = fields.String(required=True, metadata={"description": "for people"})
    fields_ = fields.Dict(
        data_key="fields",
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "what is wrong with each field of the request"},
    )


class ErrorSchema(Schema):
    """Every refusal: a 4xx status and this body."""

    error = fields.Nested(ErrorBodySchema, required=True)


# Tokens


class TokenRequestSchema(Schema):
    """A username and password traded for a token."""

    username = Name(required=True)
    password = fields.String(required=True, validate=validate.Length(max=MAX_PASSWORD_LENGTH))
    name = Stripped(
        load_default=DEFAULT_TOKEN_NAME,
        validate=validate.Length(1, MAX_TOKEN_NAME_LENGTH),
        metadata={"description": "what the token is for, as the profile page lists it"},
    )


class TokenSchema(Schema):
    """A token just made."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    token = fields.String(required=True, metadata={"description": "shown this once only"})
    created_at = time_field()


# Users


class SignUpSchema(Schema):
    """A new account."""

    username = Name(required=True)
    password = fields.String(
        required=True, validate=validate.Length(MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH)
    )


class UserSchema(Schema):
    """Someone's profile."""

    username = fields.String(required=True)
    display_name = fields.String(required=True)
    about = fields.String(required=True)
    email = fields.String(required=True)
    is_admin = fields.Boolean(required=True)
    online = fields.Boolean(required=True, metadata={"description": "has a page open"})
    avatar = fields.String(required=True, allow_none=True, metadata={"description": "a path"})
    created_at = time_field()


class MeSchema(UserSchema):
    """My own profile."""

    shares_read_state = fields.Boolean(required=True)
    shares_typing = fields.Boolean(required=True)


class UsersSchema(Schema):
    """Everyone."""

    users = fields.List(fields.Nested(UserSchema), required=True)


class ProfileSchema(Schema):
    """Changes to my profile; fields left out stay as they are."""

    display_name = DisplayName(metadata={"maxLength": MAX_DISPLAY_NAME_LENGTH})
    email = Email(metadata={"maxLength": 254})
    about = fields.String(validate=validate.Length(max=MAX_ABOUT_LENGTH))
    shares_read_state = Flag()
    shares_typing = Flag()


# Rooms


class MemberSchema(Schema):
    """A member of a room."""

    username = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(["owner", "member"]))


class RoomSchema(Schema):
    """A room in a list."""

    name = fields.String(required=True)
    visibility = fields.String(required=True, validate=validate.OneOf(VISIBILITIES))
    direct = fields.Boolean(required=True, metadata={"description": "a conversation of two"})
    member_count = fields.Integer(required=True)
    role = fields.String(
        required=True, allow_none=True, metadata={"description": "mine: owner, member or null"}
    )
    unread = fields.Integer(required=True, allow_none=True, metadata={"description": "for me"})


class RoomDetailSchema(RoomSchema):
    """A room with its members."""

    members = fields.List(fields.Nested(MemberSchema), required=True)


class RoomsSchema(Schema):
    """Rooms."""

    rooms = fields.List(fields.Nested(RoomSchema), required=True)


class NewRoomSchema(Schema):
    """A new room."""

    name = Name(required=True)
    visibility = fields.String(load_default="private", validate=validate.OneOf(VISIBILITIES))
    invite = fields.List(Name(), load_default=list, validate=validate.Length(max=MAX_PAGE))


class RoomChangeSchema(Schema):
    """A new name or visibility."""

    name = Name()
    visibility = fields.String(validate=validate.OneOf(VISIBILITIES))


class UsernameSchema(Schema):
    """Someone, by username."""

    username = Name(required=True)


# Invitations


class InvitationSchema(Schema):
    """An invitation into a room."""

    id = fields.Integer(required=True)
    room = fields.String(required=True)
    invitee = fields.String(required=True)
    inviter = fields.String(required=True, allow_none=True)
    status = fields.String(required=True)
    created_at = time_field()


class InvitationsSchema(Schema):
    """Invitations."""

    invitations = fields.List(fields.Nested(InvitationSchema), required=True)


# Messages


class MessageSchema(Schema):
    """A message."""

    id = fields.Integer(required=True)
    room = fields.String(required=True)
    author = fields.String(
        required=True, allow_none=True, metadata={"description": "null: deleted"}
    )
    recipient = fields.String(
        required=True, allow_none=True, metadata={"description": "personal messages only"}
    )
    body = fields.String(required=True)
    created_at = time_field()


class MessagesSchema(Schema):
    """Messages, oldest first."""

    messages = fields.List(fields.Nested(MessageSchema), required=True)


class PageSchema(Schema):
    """Which messages: the newest, or those before or after an id."""

    before = identifier(strict=False, metadata={"description": "only messages older than this id"})
    after = identifier(strict=False, metadata={"description": "only messages newer than this id"})
    limit = fields.Integer(
        load_default=50, validate=validate.Range(1, MAX_PAGE), metadata={"description": "at most"}
    )


class NewMessageSchema(Schema):
    """A message to send."""

    body = fields.String(required=True)
    to = Name(load_default=None, metadata={"description": "a member's username: personal"})


class ReadMarkSchema(Schema):
    """Where I have read up to."""

    id = identifier(required=True, metadata={"description": "read up to this message"})


class RoomUnreadSchema(Schema):
    """My unread messages in a room."""

    room = fields.String(required=True)
    unread = fields.Integer(required=True)


class UnreadSchema(Schema):
    """My unread messages."""

    total = fields.Integer(required=True)
    rooms = fields.List(fields.Nested(RoomUnreadSchema), required=True)


class AnnouncementSchema(Schema):
    """An admin's word to everyone connected."""

    text = Stripped(required=True, validate=validate.Length(1, MAX_ANNOUNCEMENT_LENGTH))
