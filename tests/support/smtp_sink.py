"""A real SMTP server for the notification stories (aiosmtpd): every message it receives is parsed with
Python's email package and appended to OUT as one JSON line (envelope, subject, Message-ID, the plain-text
and HTML bodies decoded), so the stories read what a mail client would show.

    python smtp_sink.py PORT OUT
"""
import email
import email.policy
import json
import sys
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, out):
        self.out = out
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        text = msg.get_body(("plain",))
        html = msg.get_body(("html",))
        record = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "subject": str(msg["subject"]),
            "messageId": str(msg["message-id"]),
            "text": text.get_content() if text else None,
            "html": html.get_content() if html else None,
        }
        with self.lock, open(self.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
        return "250 OK"


if __name__ == "__main__":
    port, out = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Sink(out), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    threading.Event().wait()
