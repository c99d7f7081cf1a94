"""gunicorn reads this file from the folder it starts in: the project's settings."""

from web.gunicorn_conf import *  # noqa: F403 - gunicorn takes the module's globals
