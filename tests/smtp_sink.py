"""A local SMTP server that keeps what it receives, for tests and benches.

Enough of SMTP for Django's SMTP backend (EHLO, MAIL, RCPT, DATA, RSET,
NOOP, QUIT), on asyncio in a thread of its own. `delay` makes every message
take that long to be accepted, like a slow relay.
"""

import asyncio
import email
import email.policy
import threading
import time


class SmtpSink:
    def __init__(self, *, delay: float = 0.0, host: str = "127.0.0.1") -> None:
        self.delay = delay
        self.host = host
        self.port = 0
        self.messages: list[email.message.EmailMessage] = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    # -- lifecycle --------------------------------------------------------

    def __enter__(self) -> "SmtpSink":
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("The SMTP sink did not start.")
        return self

    def __exit__(self, *exc) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    @property
    def url(self) -> str:
        """The EMAIL_URL that sends here."""
        return f"smtp://{self.host}:{self.port}"

    def count(self) -> int:
        with self._lock:
            return len(self.messages)

    def received(self) -> list[email.message.EmailMessage]:
        with self._lock:
            return list(self.messages)

    def wait_for(self, count: int, timeout: float) -> bool:
        """Wait until `count` messages arrived; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count() >= count:
                return True
            time.sleep(0.05)
        return self.count() >= count

    # -- the server -------------------------------------------------------

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        server = self._loop.run_until_complete(
            asyncio.start_server(self._session, self.host, 0)
        )
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            self._loop.close()

    async def _session(self, reader, writer) -> None:
        def reply(line: str) -> None:
            writer.write(line.encode() + b"\r\n")

        reply("220 sink ESMTP")
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                verb = line.decode(errors="replace").strip().split(" ", 1)[0].upper()
                if verb == "EHLO":
                    reply("250-sink")
                    reply("250 8BITMIME")
                elif verb in ("HELO", "MAIL", "RCPT", "RSET", "NOOP"):
                    reply("250 OK")
                elif verb == "DATA":
                    reply("354 End data with <CR><LF>.<CR><LF>")
                    await writer.drain()
                    data = await reader.readuntil(b"\r\n.\r\n")
                    await asyncio.sleep(self.delay)
                    self._keep(data[: -len(b"\r\n.\r\n")])
                    reply("250 OK: queued")
                elif verb == "QUIT":
                    reply("221 Bye")
                    await writer.drain()
                    break
                else:
                    reply("502 Command not implemented")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    def _keep(self, data: bytes) -> None:
        # Undo SMTP's dot-stuffing before parsing.
        lines = [
            line[1:] if line.startswith(b"..") else line for line in data.split(b"\r\n")
        ]
        message = email.message_from_bytes(
            b"\r\n".join(lines), policy=email.policy.default
        )
        with self._lock:
            self.messages.append(message)
