"""Local protocol peers: real servers on 127.0.0.1 speaking each provider's protocol.

Development and test tooling, not a Django app: the suite and the benchmark commands both use it.
Providers are tested against servers that speak their protocol over a socket, never against
mocked function calls, so retries, timeouts, headers and serialization are exercised as they are
in production. One module per provider:

- `recording.RecordingHTTPServer`: records every request; replies are scripted per path prefix,
  else `default_reply` answers (200 `{}`). Every HTTP provider's peer builds on it.
- `postmark.PostmarkPeer`: Postmark's send API as django-anymail's Postmark backend uses it,
  with scripted failures (`fail_next`).
- `smtp.SMTPPeer`: an aiosmtpd server keeping each message as an `EmailMessage`.
- `processes`: subprocesses for benchmarks and crash tests (a Postmark sink, a real Celery
  worker, the development web server).

`python -m peers postmark --port 0` serves a Postmark sink in its own process: it prints its URL
as the first line and answers `GET /_stats` with `{"accepted": N, "by_key": {dedup_key: count}}`.
"""
