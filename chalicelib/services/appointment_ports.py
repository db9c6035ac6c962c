"""What the appointment service needs from storage (adapters/dynamodb/appointment_store.py) and
from the case statistics; tests replace them with fakes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Protocol

from chalicelib.domain.appointments import Appointment, Calendar, Change
from chalicelib.domain.staff import AuditEntry


class AppointmentStore(Protocol):
    def get(self, case_id: str, appointment_id: str) -> Appointment | None: ...

    def for_case(self, case_id: str) -> list[Appointment]: ...

    def calendar(self, staff_id: str) -> Calendar: ...

    def passed(self, now: datetime, page_size: int = 100) -> Iterator[tuple[str, str]]: ...

    def write(self, change: Change, audit: AuditEntry | None) -> None:
        """Atomically, or StateChangedError when the appointment, calendar or case changed."""
        ...
