"""The lobby, creating rooms, and the owner's edit page."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError

from chatapp import listings, notify, reading, roomchanges
from chatapp.access import managed_room_or_404, pending_invitation_or_404, user_or_404
from chatapp.extensions import db
from chatapp.forms import (
    AnnouncementForm,
    DeleteRoomForm,
    InviteForm,
    RoomForm,
    RoomSettingsForm,
)
from chatapp.models import Room, RoomRefusal, User
from chatapp.names import name_key
from chatapp.responses import is_htmx, redirect_after_post, render

bp = Blueprint("rooms", __name__)

NAME_TAKEN = "A room with that name exists already."


@bp.get("/")
def index():
    """Send visitors to the lobby (which sends strangers on to log in)."""
    return redirect(url_for("rooms.lobby"))


@bp.get("/chat/room/")
@login_required
def lobby():
    """The lobby: my rooms, my conversations, rooms to join, invitations, a create form."""
    return render_lobby(RoomForm(formdata=None))


@bp.post("/chat/room/")
@login_required
def create():
    """Create a room, invite the people named, and open it."""
    form = RoomForm()
    if not form.validate_on_submit():
        return render_lobby(form, 422)
    invitees, unknown = find_users(form.invite.data)
    if unknown:
        form.invite.errors = [f"There is no user named {', '.join(unknown)}."]
        return render_lobby(form, 422)
    if Room.find(form.name.data) is not None:
        return name_taken(form)
    try:
        room = Room.create(form.name.data, current_user, form.visibility.data, invitees)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return name_taken(form)
    except RoomRefusal as refusal:
        db.session.rollback()
        form.invite.errors = [str(refusal)]
        return render_lobby(form, refusal.status)
    roomchanges.created(room)
    return redirect_after_post(url_for("chat.room", name=room.name))


def find_users(usernames):
    """The users with these names, and the names nobody has, from one query."""
    found = User.find_all(usernames)
    unknown = [name for name in usernames if name_key(name) not in found]
    return list(found.values()), unknown


def name_taken(form):
    """Refuse a room name in use, whoever took it first."""
    form.name.errors = [NAME_TAKEN]
    return render_lobby(form, 409)


def render_lobby(form, status=200, fragment="rooms/_create_form.html", announce_form=None):
    """The lobby page, or just the form that was sent for htmx."""
    return render(
        "rooms/lobby.html",
        fragment,
        status,
        form=form,
        announce_form=announce_form or AnnouncementForm(formdata=None),
        invitations=listings.my_invitations(current_user),
        **lobby_lists(),
    )


def lobby_lists():
    """What the lobby's room lists show me."""
    return {
        "rooms": listings.my_rooms(current_user),
        "conversations": listings.my_conversations(current_user),
        "other_rooms": listings.other_rooms(current_user),
        "unread": reading.unread_by_room(current_user.id),
    }


@bp.get("/chat/room/lists")
@login_required
def lists():
    """The lobby's room lists alone, as they fetch themselves when my rooms change."""
    return render_template("rooms/_lists.html", **lobby_lists())


@bp.post("/chat/announcements")
@login_required
def announce():
    """An admin tells everyone connected something."""
    if not current_user.is_admin:
        abort(404)
    form = AnnouncementForm()
    if not form.validate_on_submit():
        return render_lobby(RoomForm(formdata=None), 422, "rooms/_announce_form.html", form)
    notify.announce(current_user, form.text.data)
    flash("Announced.")
    return redirect_after_post(url_for("rooms.lobby"))


@bp.route("/chat/room/<name>/edit/", methods=("GET", "POST"))
@login_required
def edit(name):
    """The owner's page; a POST renames the room or changes who can join."""
    room = managed_room_or_404(name)
    form = RoomSettingsForm(obj=room)
    if not form.validate_on_submit():
        return render_edit(room, "rooms/_settings_form.html", settings_form=form)
    old_name, was_public = room.name, room.is_public
    other = Room.find(form.name.data)
    if other is not None and other.id != room.id:
        form.name.errors = [NAME_TAKEN]
        return render_edit(room, "rooms/_settings_form.html", 409, settings_form=form)
    try:
        room.rename(form.name.data)
        room.set_visibility(form.visibility.data)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        form.name.errors = [NAME_TAKEN]
        return render_edit(room, "rooms/_settings_form.html", 409, settings_form=form)
    roomchanges.changed(room, old_name, was_public)
    flash("Room saved.")
    return redirect_after_post(url_for("rooms.edit", name=room.name))


@bp.post("/chat/room/<name>/edit/invite")
@login_required
def invite(name):
    """Invite someone by username."""
    room = managed_room_or_404(name)
    form = InviteForm()
    if not form.validate_on_submit():
        return render_people(room, 422, invite_form=form)
    invitee = User.find(form.username.data)
    if invitee is None:
        form.username.errors = [f"There is no user named {form.username.data}."]
        return render_people(room, 422, invite_form=form)
    try:
        invitation = room.invite(invitee, current_user)
        db.session.commit()
    except RoomRefusal as refusal:
        form.username.errors = [str(refusal)]
        return render_people(room, refusal.status, invite_form=form)
    except IntegrityError:
        db.session.rollback()
        form.username.errors = [f"{invitee.username} is already invited."]
        return render_people(room, 409, invite_form=form)
    roomchanges.invited(invitation)
    return people_changed(room, f"Invited {invitee.username}.")


@bp.post("/chat/room/<name>/edit/invitations/<int:invitation_id>/revoke")
@login_required
def revoke(name, invitation_id):
    """Take back an invitation not answered yet."""
    room = managed_room_or_404(name)
    invitation = pending_invitation_or_404(room, invitation_id)
    invitation.revoke()
    db.session.commit()
    roomchanges.invitation_revoked(invitation)
    return people_changed(room, f"The invitation of {invitation.invitee.username} was revoked.")


@bp.post("/chat/room/<name>/edit/members/<username>/remove")
@login_required
def remove_member(name, username):
    """Remove someone from the room."""
    room = managed_room_or_404(name)
    member = user_or_404(username)
    try:
        room.remove(member)
    except RoomRefusal as refusal:
        return render_people(room, refusal.status, people_error=str(refusal))
    db.session.commit()
    roomchanges.member_removed(room, member, current_user)
    return people_changed(room, f"{member.username} was removed.")


@bp.post("/chat/room/<name>/edit/members/<username>/owner")
@login_required
def hand_over(name, username):
    """Make a member the room's owner."""
    room = managed_room_or_404(name)
    new_owner = user_or_404(username)
    try:
        room.hand_over(new_owner)
    except RoomRefusal as refusal:
        return render_people(room, refusal.status, people_error=str(refusal))
    db.session.commit()
    roomchanges.owner_changed(room, new_owner, current_user)
    if not room.is_managed_by(current_user):
        flash(f"{new_owner.username} owns {room.name} now.")
        return redirect_after_post(url_for("chat.room", name=room.name))
    return people_changed(room, f"{new_owner.username} owns {room.name} now.")


@bp.post("/chat/room/<name>/edit/delete")
@login_required
def delete(name):
    """Delete the room for good once its name is typed out."""
    room = managed_room_or_404(name)
    form = DeleteRoomForm()
    if not form.validate_on_submit():
        return render_edit(room, "rooms/_delete_form.html", delete_form=form)
    if name_key(form.confirm_name.data.strip()) != room.name_key:
        form.confirm_name.errors = [f"Type {room.name} to delete this room."]
        return render_edit(room, "rooms/_delete_form.html", 422, delete_form=form)
    room_id, room_name, was_public = room.id, room.name, room.is_public
    member_ids = [membership.user_id for membership in room.memberships]
    db.session.delete(room)
    db.session.commit()
    roomchanges.deleted(room_id, room_name, member_ids, was_public, current_user.id)
    flash(f"The room {room_name} was deleted.")
    return redirect_after_post(url_for("rooms.lobby"))


def people_changed(room, message):
    """Answer a change to the members or invitations: the section for htmx, else the page."""
    if is_htmx():
        return render_people(room, 200, notice=message)
    flash(message)
    return redirect(url_for("rooms.edit", name=room.name), code=303)


def render_people(room, status, **context):
    """The edit page, or just its members and invitations section for htmx."""
    return render_edit(room, "rooms/_people.html", status, **context)


def render_edit(room, fragment, status=None, **context):
    """The edit page with all its forms, the submitted one carrying its errors."""
    context.setdefault("settings_form", RoomSettingsForm(formdata=None, obj=room))
    context.setdefault("invite_form", InviteForm(formdata=None))
    context.setdefault("delete_form", DeleteRoomForm(formdata=None))
    if status is None:
        has_errors = any(form.errors for form in context.values() if hasattr(form, "errors"))
        status = 422 if has_errors else 200
    return render(
        "rooms/edit.html",
        fragment,
        status,
        room=room,
        memberships=room.memberships,
        invitations=room.pending_invitations(),
        **context,
    )
