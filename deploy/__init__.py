"""Deployment: gunicorn's and nginx's configuration, and the whole stack on one machine."""
