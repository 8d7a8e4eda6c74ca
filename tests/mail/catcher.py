"""A real SMTP server on loopback for the tests (aiosmtpd).

    catcher.py DIR

Every message it accepts is written to DIR as <n>.eml (the envelope's
recipients first, as an X-Envelope-To line, then the message as received);
it prints "listening <port>" once it takes connections. scripts/services
installs aiosmtpd in its own virtualenv.
"""

import asyncio
import itertools
import os
import sys

from aiosmtpd.smtp import SMTP


class Save:
    def __init__(self, out):
        self.out = out
        self.count = itertools.count()

    async def handle_DATA(self, server, session, envelope):
        path = os.path.join(self.out, f"{next(self.count):06d}.eml")
        with open(path + ".tmp", "wb") as f:
            f.write(b"X-Envelope-To: " + ",".join(envelope.rcpt_tos).encode() + b"\r\n")
            f.write(envelope.original_content or envelope.content)
        # Whole files only: the tests read the directory while we write.
        os.rename(path + ".tmp", path)
        return "250 OK"


async def main(out):
    handler = Save(out)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, hostname="catcher"), "127.0.0.1", 0)
    print(f"listening {server.sockets[0].getsockname()[1]}", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
