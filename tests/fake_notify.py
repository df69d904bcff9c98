"""Fake notification services on loopback for the notifier's tests: Telegram's Bot API and an SMTP server.

Nothing reaches the internet. Apprise's Telegram plugin has no setting for another host, so a test aims it here
by setting its `notify_url` (what `FakeTelegram.base_url` gives) in the process that sends; e-mail needs nothing
of the kind: `FakeSmtp.url` is an ordinary `mailto://` URL whose SMTP server is this one.
"""

import json
import socket
import threading
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

TOKEN = "123456789:TESTtokenTESTtokenTESTtokenTESTtoken"
CHAT = "-1001234567890"


class FakeTelegram:
    """sendMessage answered as Telegram answers it, each message's JSON body kept in `messages`. With `hold`
    set to N, the N-th message is received and kept, but its answer waits until `release()`: a sender killed
    then has sent a message it never heard back about."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.failures = 0  # answers of 500 to give before the next success
        self.hold: int | None = None
        self.holding = threading.Event()  # set once the held message has arrived
        self.released = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                if not self.path.endswith("/sendMessage"):
                    return self.answer(200, {"ok": True, "result": {}})
                if fake.failures:
                    fake.failures -= 1
                    return self.answer(500, {"ok": False, "description": "Internal Server Error"})
                fake.messages.append(body)
                if len(fake.messages) == fake.hold:
                    fake.holding.set()
                    fake.released.wait(60)
                self.answer(200, {"ok": True, "result": {"message_id": len(fake.messages), "text": body.get("text")}})

            def answer(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the sender is gone (killed while it waited)
                    pass

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def base_url(self) -> str:
        """What NotifyTelegram.notify_url becomes: the bot API's base, to which the token is appended."""
        return f"http://127.0.0.1:{self.server.server_port}/bot"

    url = f"tgram://{TOKEN}/{CHAT}/"

    def texts(self) -> list[str]:
        return [message["text"] for message in self.messages]

    def release(self) -> None:
        self.released.set()

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


class FakeSmtp:
    """An SMTP server (aiosmtpd) on a loopback port that keeps every message it is sent."""

    def __init__(self) -> None:
        self.messages: list = []
        with socket.socket() as probe:  # a free port: aiosmtpd needs one named
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        fake = self

        class Handler:
            async def handle_DATA(self, server, session, envelope) -> str:
                fake.messages.append(message_from_bytes(envelope.content))
                return "250 Message accepted for delivery"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)
        self.controller.start()
        self.port = port

    @property
    def url(self) -> str:
        return f"mailto://127.0.0.1:{self.port}?from=ledger@example.com&to=trader@example.com&mode=insecure"

    def subjects(self) -> list[str]:
        return [str(make_header(decode_header(message["Subject"]))) for message in self.messages]

    def close(self) -> None:
        self.controller.stop()
