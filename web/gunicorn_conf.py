"""gunicorn settings that match the app's own limits (`monosearch serve` and the README's
production command use them; ./gunicorn.conf.py, which gunicorn reads from the folder it
starts in, imports them).

The app refuses URLs of more than 8 KiB with its own 414 (JSON, security headers); a
request line gunicorn refused itself would get gunicorn's bare HTML page instead, so its
limit is the most it allows (8190 bytes), and a valid 500-character query in any script
(up to 4.5 KB percent-encoded) always reaches the app.
"""

import os

bind = os.environ.get("MONOSEARCH_BIND", "127.0.0.1:8000")  # loopback unless told
workers = int(os.environ.get("MONOSEARCH_WORKERS", "2"))
limit_request_line = 8190  # gunicorn's maximum; the app's own limit is 8 KiB
limit_request_fields = 100
limit_request_field_size = 8190
timeout = 30  # a request that runs longer is a bug: the worker is replaced
graceful_timeout = 10
# gunicorn 24+ opens a control socket in ~/.gunicorn by default; the service has no use
# for it, and a server should not write into the home folder (older gunicorns ignore it).
control_socket_disable = True
