"""The blueprint of the development outbox (/dev/sms), registered only with the console backend outside production."""

from flask import Blueprint

bp = Blueprint("sms", __name__)
