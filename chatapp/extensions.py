"""Extension objects, created unbound and bound to the app in create_app."""

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sock import Sock
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from chatapp.flood import FloodControl
from chatapp.ratelimit import ApiRateLimit
from chatapp.throttle import Throttle


class Base(DeclarativeBase):
    """Declarative base shared by every model."""

    # Named constraints let migrations alter them, SQLite's batch mode included.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


# Objects stay readable after commit without reloading them: a session lives for one
# request or one socket frame, so nothing it holds goes stale for long.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to continue."
throttle = Throttle()
sock = Sock()
flood_control = FloodControl()
api_rate_limit = ApiRateLimit()
