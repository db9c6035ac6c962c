"""Partner institutions of the network."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Partner:
    id: str
    name: str
    short_name: str
    description: str
    offers: tuple[str, ...]
    languages: tuple[str, ...]
    address: str
    sla_working_days: int = 2
    reminder_offsets_minutes: tuple[int, ...] = field(default=(1440, 120))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Partner:
        return cls(
            id=data["id"],
            name=data["name"],
            short_name=data.get("short_name", data["name"]),
            description=data.get("description", ""),
            offers=tuple(data.get("offers", ())),
            languages=tuple(data.get("languages", ())),
            address=data.get("address", ""),
            sla_working_days=int(data.get("sla_working_days", 2)),
            reminder_offsets_minutes=tuple(int(m) for m in data.get("reminder_offsets_minutes", (1440, 120))),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "short_name": self.short_name,
            "description": self.description,
            "offers": list(self.offers),
            "languages": list(self.languages),
            "address": self.address,
            "sla_working_days": self.sla_working_days,
            "reminder_offsets_minutes": list(self.reminder_offsets_minutes),
        }

    def public_dict(self) -> dict[str, Any]:
        """What the intake page may show: no internal settings."""
        return {
            "id": self.id,
            "name": self.name,
            "short_name": self.short_name,
            "description": self.description,
            "offers": list(self.offers),
            "languages": list(self.languages),
            "address": self.address,
        }
