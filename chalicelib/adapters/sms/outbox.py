"""The local stage's sender: one JSON line per SMS in a file, and the text printed without the number."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from chalicelib import logs
from chalicelib.domain.messages import count_segments
from chalicelib.services.messaging_ports import OutgoingSms, SendResult

_lock = threading.Lock()


class OutboxSender:
    def __init__(self, path: Path, clock: Callable[[], datetime] | None = None, echo: bool = True) -> None:
        self.path = path
        self._clock = clock or (lambda: datetime.now(UTC))
        self._echo = echo

    def send(self, sms: OutgoingSms) -> SendResult:
        sid = "SMoutbox" + uuid.uuid4().hex[:24]
        segments = count_segments(sms.body)
        line = {
            "sid": sid,
            "message_id": sms.message_id,
            "to": sms.to,
            "body": sms.body,
            "segments": segments.segments,
            "encoding": segments.encoding,
            "at": self._clock().isoformat(),
        }
        with _lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(line, ensure_ascii=False) + "\n")
        if self._echo:
            # Never the whole phone number: this lands in terminals and logs. A place staff typed may
            # hold one too ("home visit, Tel. 0151 …"): redacted like any log line; the file has it all.
            print(
                f"[outbox] SMS {sms.message_id} to {masked(sms.to)} ({segments.segments} segment(s)),"
                f" written to {self.path}:\n  {logs.redact(sms.body)}",
                flush=True,
            )
        return SendResult(sid, "sent")

    def find_sent(self, to: str, body: str, since: datetime) -> str | None:
        if not self.path.exists():
            return None
        found = None
        with _lock, self.path.open(encoding="utf-8") as handle:
            for raw in handle:
                try:
                    item = json.loads(raw)
                except ValueError:
                    continue
                if item.get("to") == to and item.get("body") == body and datetime.fromisoformat(item["at"]) >= since:
                    found = item["sid"]
        return found

    def forget(self, sid: str) -> None:
        """The outbox stands in for Twilio's message log: an erased applicant's lines leave it too."""
        with _lock:
            if not self.path.exists():
                return
            lines = self.path.read_text(encoding="utf-8").splitlines(keepends=True)
            kept = [line for line in lines if _sid_of(line) != sid]
            if len(kept) != len(lines):
                self.path.write_text("".join(kept), encoding="utf-8")


def _sid_of(line: str) -> str | None:
    try:
        return json.loads(line).get("sid")
    except (ValueError, AttributeError):
        return None


def masked(phone: str) -> str:
    """+4915112345678 → +49 … 78: enough to tell two test numbers apart, too little to call one."""
    return f"{phone[:3]} … {phone[-2:]}" if len(phone) > 6 else "…"
