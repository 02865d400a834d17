"""Forms for accounts and profiles; Flask-WTF adds the CSRF token to each."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField
from wtforms import BooleanField, HiddenField, PasswordField, StringField, TextAreaField
from wtforms.validators import EqualTo, InputRequired, Length, Optional, Regexp, ValidationError

from chatapp.names import InvalidName, normalise_name

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
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
    password = PasswordField("Password", validators=[InputRequired()])


class ProfileForm(FlaskForm):
    """What others see of me."""

    username = StringField("Username", validators=[valid_name])
    display_name = StringField(
        "Display name", filters=[strip], validators=[Optional(), Length(max=64)]
    )
    email = StringField(
        "Email",
        filters=[strip],
        validators=[
            Optional(),
            Length(max=254),
            Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+\Z", message="That is not an email address."),
        ],
    )
    about = TextAreaField("About me", validators=[Optional(), Length(max=2000)])
    avatar_file = FileField(
        "Avatar",
        validators=[FileAllowed(AVATAR_EXTENSIONS, "Upload an image: PNG, JPEG, GIF or WebP.")],
    )
    drop_avatar = BooleanField("Remove my avatar")


class ChangePasswordForm(FlaskForm):
    """A new password, given the current one."""

    current_password = PasswordField("Current password", validators=[InputRequired()])
    password, password_confirm = new_password_fields("New password")


class DeleteAccountForm(FlaskForm):
    """Deleting the account asks for the password once more."""

    confirm_password = PasswordField("Password", validators=[InputRequired()])
