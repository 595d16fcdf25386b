"""WSGI entry point for gunicorn: `gunicorn wsgi:app`."""

from composition import create_app

app = create_app()
