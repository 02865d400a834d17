"""derived unread counts; ids never reused

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 05:30:00.000000

Unread counts become derived: a room counts the messages said to everyone in it, a
message keeps the room's count at the time (its position), and a membership keeps the
position it has read up to plus the personal messages to it since. Sending a message
marks the room read for its author up to that message.

SQLite tables are recreated with AUTOINCREMENT, so that a deleted row's id is never
given to a new one.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

TABLES = ('users', 'rooms', 'memberships', 'invitations', 'messages')


def upgrade():
    with op.batch_alter_table('rooms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_count', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('position', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_index('ix_messages_personal', ['recipient_id', 'room_id', 'id'], unique=False, sqlite_where=sa.text('is_personal'), postgresql_where=sa.text('is_personal'))

    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('read_position', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('personal_unread', sa.Integer(), server_default='0', nullable=False))

    fill_in_counts()

    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_column('unread_count')

    if op.get_bind().dialect.name == 'sqlite':
        for table in TABLES:
            with op.batch_alter_table(table, recreate='always', table_kwargs={'sqlite_autoincrement': True}):
                pass


def fill_in_counts():
    """Derive the new counts from the messages already said."""
    op.execute(
        "UPDATE messages SET position = numbered.position FROM ("
        " SELECT id, SUM(CASE WHEN is_personal THEN 0 ELSE 1 END)"
        " OVER (PARTITION BY room_id ORDER BY id) AS position FROM messages"
        ") AS numbered WHERE numbered.id = messages.id"
    )
    op.execute(
        "UPDATE rooms SET message_count = (SELECT COUNT(*) FROM messages"
        " WHERE messages.room_id = rooms.id AND NOT messages.is_personal)"
    )
    # Sending marks read: a member's mark moves up to their own latest message.
    op.execute(
        "UPDATE memberships SET last_read_message_id = ("
        " SELECT MAX(id) FROM messages WHERE messages.room_id = memberships.room_id"
        " AND messages.author_id = memberships.user_id)"
        " WHERE COALESCE(last_read_message_id, 0) < ("
        " SELECT COALESCE(MAX(id), 0) FROM messages WHERE messages.room_id = memberships.room_id"
        " AND messages.author_id = memberships.user_id)"
    )
    op.execute(
        "UPDATE memberships SET"
        " read_position = COALESCE((SELECT MAX(position) FROM messages"
        "  WHERE messages.room_id = memberships.room_id"
        "  AND messages.id <= memberships.last_read_message_id), 0),"
        " personal_unread = (SELECT COUNT(*) FROM messages"
        "  WHERE messages.room_id = memberships.room_id AND messages.is_personal"
        "  AND messages.recipient_id = memberships.user_id"
        "  AND messages.id > COALESCE(memberships.last_read_message_id, 0))"
    )


def downgrade():
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unread_count', sa.Integer(), server_default='0', nullable=False))
    op.execute(
        "UPDATE memberships SET unread_count = ("
        " SELECT rooms.message_count FROM rooms WHERE rooms.id = memberships.room_id"
        ") - read_position + personal_unread"
    )
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_column('personal_unread')
        batch_op.drop_column('read_position')

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_personal', sqlite_where=sa.text('is_personal'), postgresql_where=sa.text('is_personal'))
        batch_op.drop_column('position')

    with op.batch_alter_table('rooms', schema=None) as batch_op:
        batch_op.drop_column('message_count')
