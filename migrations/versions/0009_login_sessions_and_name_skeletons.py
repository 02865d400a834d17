"""login sessions, and names unique by their confusable skeleton

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 05:30:00.000000

"""
import os
import unicodedata

from alembic import op
from flask import current_app
import sqlalchemy as sa

from chatapp.names import MAX_NAME_LENGTH, name_key


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('login_sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('user_agent', sa.String(length=256), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_login_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_sessions'))
    )
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_sessions_user_id'), ['user_id'], unique=False)

    # Names become unique by their confusable skeleton. Of names that now look alike, the
    # oldest keeps its name; each later one is renamed <name>-<id>.
    rekey(sa.table('users', sa.column('id'), sa.column('username'), sa.column('username_key')),
          'username', 'username_key', skeleton_key)
    rooms = sa.table('rooms', sa.column('id'), sa.column('name'), sa.column('name_key'),
                     sa.column('is_direct'))
    rekey(rooms, 'name', 'name_key', skeleton_key, move_room_log)


def downgrade():
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_sessions_user_id'))

    op.drop_table('login_sessions')
    rekey(sa.table('users', sa.column('id'), sa.column('username'), sa.column('username_key')),
          'username', 'username_key', case_key)
    rooms = sa.table('rooms', sa.column('id'), sa.column('name'), sa.column('name_key'),
                     sa.column('is_direct'))
    rekey(rooms, 'name', 'name_key', case_key)


def skeleton_key(name):
    return name_key(name)


def case_key(name):
    return unicodedata.normalize('NFC', name.casefold())


def rekey(table, name_column, key_column, key_of, renamed=None):
    """Give every row the key key_of(name), renaming later rows whose key is taken."""
    connection = op.get_bind()
    columns = table.c
    rows = connection.execute(sa.select(table).order_by(columns.id)).mappings().all()
    # Cleared first, so that no row's new key can clash with another row's old one.
    for row in rows:
        connection.execute(table.update().where(columns.id == row['id'])
                           .values({key_column: f'#{row["id"]}'}))
    taken = set()
    for row in rows:
        name = row[name_column]
        if row.get('is_direct'):
            key = name
        else:
            key, attempt = key_of(name), 0
            while key in taken:
                attempt += 1
                suffix = f'-{row["id"]}' + (f'-{attempt}' if attempt > 1 else '')
                name = row[name_column][:MAX_NAME_LENGTH - len(suffix)] + suffix
                key = key_of(name)
            if renamed and name != row[name_column]:
                renamed(row[name_column], name)
        taken.add(key)
        connection.execute(table.update().where(columns.id == row['id'])
                           .values({name_column: name, key_column: key}))


def move_room_log(old_name, new_name):
    """A renamed room's log file goes along with it."""
    folder = current_app.config['LOG_DIR']
    old = os.path.join(folder, f'chatroom{old_name}.txt')
    if os.path.exists(old):
        os.replace(old, os.path.join(folder, f'chatroom{new_name}.txt'))
