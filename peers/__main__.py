"""`python -m peers postmark|twilio|discord|webpush --port 0`: a provider's peer in its own process (a sink).

It prints its URL as the first line, then serves until killed.
"""

import argparse

from .discord import DiscordPeer
from .postmark import PostmarkPeer
from .recording import RecordingHTTPServer
from .twilio import TwilioPeer
from .webpush import WebPushPeer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m peers", description="Serve a protocol peer until killed.")
    parser.add_argument("kind", choices=["postmark", "twilio", "discord", "webpush"])
    parser.add_argument("--port", type=int, default=0, help="0: any free port (the default)")
    parser.add_argument(
        "--token",
        help="postmark: the X-Postmark-Server-Token to require (default test-token); "
        "twilio: the Auth Token (default test-auth-token)",
    )
    parser.add_argument("--sid", default="AC" + "0" * 32, help="twilio: the Account SID to require")
    parser.add_argument(
        "--echo", action="store_true", help="discord: a line per message taken; webpush: each push it decrypts"
    )
    parser.add_argument(
        "--seed", default="", help="webpush: subscriptions made with the same seed decrypt after a restart"
    )
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to hold back every answer")
    parser.add_argument("--limit", type=int, default=5, help="discord: requests per webhook per window")
    parser.add_argument("--window", type=float, default=2.0, help="discord: the rate-limit window, seconds")
    args = parser.parse_args(argv)
    peer: RecordingHTTPServer
    if args.kind == "discord":
        peer = DiscordPeer(
            port=args.port, delay=args.delay, record=False, limit=args.limit, window=args.window, echo=args.echo
        )
    elif args.kind == "webpush":
        peer = WebPushPeer(port=args.port, delay=args.delay, record=False, echo=args.echo, seed=args.seed.encode())
    elif args.kind == "twilio":
        token = args.token or "test-auth-token"
        peer = TwilioPeer(account_sid=args.sid, token=token, port=args.port, delay=args.delay, record=False)
    else:
        peer = PostmarkPeer(token=args.token or "test-token", port=args.port, delay=args.delay, record=False)
    print(peer.url, flush=True)
    try:
        peer.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        peer.server_close()


if __name__ == "__main__":
    main()
