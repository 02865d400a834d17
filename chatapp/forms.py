"""Forms for accounts, profiles and rooms; Flask-WTF adds the CSRF token to each."""

import re

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField
from wtforms import (
    BooleanField,
    HiddenField,
    PasswordField,
    RadioField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    Optional,
    StopValidation,
    ValidationError,
)

from chatapp.models import PRIVATE, PUBLIC
from chatapp.names import (
    MAX_NAME_LENGTH,
    InvalidName,
    has_hidden_characters,
    name_key,
    normalise_name,
)
from chatapp.profiles import (
    HIDDEN_CHARACTERS,
    MAX_ABOUT_LENGTH,
    MAX_DISPLAY_NAME_LENGTH,
    email_problem,
)

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
MAX_INVITEES = 50
AVATAR_EXTENSIONS = ["png", "jpg", "jpeg", "gif", "webp", "bmp", "tif", "tiff"]


def strip(value):
    """Drop surrounding whitespace, so a field of spaces counts as empty."""
    return value.strip() if isinstance(value, str) else value


def valid_name(form, field):
    """Check a name against the naming rule and keep its normalised form."""
    try:
        field.data = normalise_name(field.data)
    except InvalidName as error:
        raise ValidationError(str(error)) from None


def visible_text(form, field):
    """Refuse invisible characters and direction controls, which can disguise a name."""
    if field.data and has_hidden_characters(field.data):
        raise StopValidation(HIDDEN_CHARACTERS)


def valid_email(form, field):
    """Check an email address; its length first, so that no parser runs on a huge one."""
    problem = email_problem(field.data)
    if problem:
        raise StopValidation(problem)


def given_password():
    """The validators of a password typed to prove who one is."""
    return [InputRequired(), Length(max=MAX_PASSWORD_LENGTH)]


def new_password_fields(label="Password"):
    """A password typed twice, for a new account or a changed password."""
    password = PasswordField(
        label,
        validators=[
            InputRequired(),
            Length(
                MIN_PASSWORD_LENGTH,
                MAX_PASSWORD_LENGTH,
                message=f"Use at least {MIN_PASSWORD_LENGTH} characters.",
            ),
        ],
    )
    confirm = PasswordField(
        f"{label} again",
        validators=[InputRequired(), EqualTo("password", message="The passwords differ.")],
    )
    return password, confirm


class UsernameForm(FlaskForm):
    """The first step of logging in: who are you?"""

    username = StringField("Username", validators=[valid_name])


class SetPasswordForm(FlaskForm):
    """An unknown name: choose a password and the account is made."""

    username = HiddenField(validators=[valid_name])
    password, password_confirm = new_password_fields()


class PasswordForm(FlaskForm):
    """A known name: prove it is yours."""

    username = HiddenField(validators=[valid_name])
    password = PasswordField("Password", validators=given_password())


class ProfileForm(FlaskForm):
    """What others see of me."""

    username = StringField("Username", validators=[valid_name])
    display_name = StringField(
        "Display name",
        filters=[strip],
        validators=[Optional(), Length(max=MAX_DISPLAY_NAME_LENGTH), visible_text],
    )
    email = StringField("Email", filters=[strip], validators=[Optional(), valid_email])
    about = TextAreaField("About me", validators=[Optional(), Length(max=MAX_ABOUT_LENGTH)])
    avatar_file = FileField(
        "Avatar",
        validators=[FileAllowed(AVATAR_EXTENSIONS, "Upload an image: PNG, JPEG, GIF or WebP.")],
    )
    drop_avatar = BooleanField("Remove my avatar")
    shares_read_state = BooleanField("Let others see when I have read their messages")
    shares_typing = BooleanField('Show others when I am typing ("is typing…")')


class TokenForm(FlaskForm):
    """A new API token, named for what it is for."""

    name = StringField("Token name", filters=[strip], validators=[DataRequired(), Length(max=64)])


class ChangePasswordForm(FlaskForm):
    """A new password, given the current one."""

    current_password = PasswordField("Current password", validators=given_password())
    password, password_confirm = new_password_fields("New password")


class DeleteAccountForm(FlaskForm):
    """Deleting the account asks for the password once more."""

    confirm_password = PasswordField("Password", validators=given_password())


VISIBILITY_CHOICES = [
    SelectChoice(PRIVATE, "Private: invited people only"),
    SelectChoice(PUBLIC, "Public: anyone here can join"),
]


class NameListField(StringField):
    """Names separated by spaces or commas, checked and kept as a list."""

    def process_formdata(self, valuelist):
        """Split what was typed; each name is checked by valid_names."""
        raw = valuelist[0] if valuelist else ""
        self.data = [name for name in re.split(r"[\s,]+", raw) if name]

    def _value(self):
        return ", ".join(self.data or [])


def valid_names(form, field):
    """Check every name against the naming rule; keep them normalised, once each."""
    raw_names = field.data or []
    if len(raw_names) > MAX_INVITEES:
        raise StopValidation(f"Invite at most {MAX_INVITEES} people at once.")
    names = {}
    for raw in raw_names:
        try:
            name = normalise_name(raw.removeprefix("@"))
        except InvalidName as error:
            raise StopValidation(f"{raw}: {error}") from None
        names.setdefault(name_key(name), name)
    field.data = list(names.values())


class RoomForm(FlaskForm):
    """A new room, and who to invite into it at once."""

    name = StringField("Room name", validators=[valid_name])
    visibility = RadioField("Who can join", choices=VISIBILITY_CHOICES, default=PRIVATE)
    invite = NameListField("Invite", validators=[valid_names])


class RoomSettingsForm(FlaskForm):
    """A room's name and visibility, as its owner changes them."""

    name = StringField("Room name", validators=[valid_name])
    visibility = RadioField("Who can join", choices=VISIBILITY_CHOICES)


class InviteForm(FlaskForm):
    """Invite one person by username."""

    username = StringField("Invite by username", validators=[valid_name])


class DeleteRoomForm(FlaskForm):
    """Deleting a room asks for its name, typed out."""

    confirm_name = StringField(
        "Type the room's name to confirm",
        validators=[InputRequired(), Length(max=MAX_NAME_LENGTH)],
    )


class AnnouncementForm(FlaskForm):
    """An admin's word to everyone connected."""

    text = StringField(
        "Announcement", filters=[strip], validators=[InputRequired(), Length(max=500)]
    )
