"""Routing policy: ordered rules, first match wins, every decision explains itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_MISSING = object()


@dataclass(frozen=True)
class Condition:
    field: str
    operator: str  # "in", "equals" or "contains_any"
    value: Any

    def holds(self, intake: dict[str, Any]) -> bool:
        actual = lookup(intake, self.field)
        if actual is _MISSING:
            return False
        if self.operator == "in":
            return actual in self.value
        if self.operator == "equals":
            return actual == self.value
        if self.operator == "contains_any":
            return isinstance(actual, list) and any(v in actual for v in self.value)
        raise ValueError(f"unknown operator {self.operator!r}")

    def explain(self) -> str:
        if self.operator == "in":
            shown = self.value[0] if len(self.value) == 1 else " or ".join(map(str, self.value))
            return f"{self.field} is {shown}"
        if self.operator == "equals":
            return f"{self.field} is {str(self.value).lower() if isinstance(self.value, bool) else self.value}"
        return f"{self.field} contains {' or '.join(map(str, self.value))}"


@dataclass(frozen=True)
class Rule:
    id: str
    partner: str
    conditions: tuple[Condition, ...]
    description: str = ""

    def matches(self, intake: dict[str, Any]) -> bool:
        return all(c.holds(intake) for c in self.conditions)

    def reason(self) -> str:
        if not self.conditions:
            return FALLBACK_REASON
        return " and ".join(c.explain() for c in self.conditions)


FALLBACK_REASON = "no earlier rule matched (fallback)"
_TESTS = (" is ", " contains ")


def conditions_of(reason: str) -> list[dict[str, Any]] | None:
    """The conditions a stored reason states (Rule.reason's wording, read back), so that a page can
    say them in its own language: [] for the fallback, None for a text not in that wording. Fields
    and values are codes without spaces, which keeps the wording unambiguous."""
    if reason == FALLBACK_REASON:
        return []
    conditions = []
    for part in reason.split(" and "):
        test = next((t for t in _TESTS if t in part), None)
        if test is None:
            return None
        field, _, values = part.partition(test)
        listed = values.split(" or ")
        if not field or " " in field or any(not v or " " in v for v in listed):
            return None
        conditions.append({"field": field, "test": test.strip(), "values": listed})
    return conditions


@dataclass(frozen=True)
class RoutingDecision:
    rule: str
    partner: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "partner": self.partner, "reason": self.reason}


class RoutingPolicyError(ValueError):
    """The rules file is inconsistent (raised at load time, never per request)."""


@dataclass(frozen=True)
class RoutingPolicy:
    version: int
    rules: tuple[Rule, ...]

    @classmethod
    def from_dict(cls, data: dict[str, Any], partner_ids: set[str]) -> RoutingPolicy:
        """Build from a document already valid against routing-rules.schema.json."""
        rules = []
        for raw in data["rules"]:
            conditions = tuple(
                Condition(c["field"], op, c[op])
                for c in raw["when"]
                for op in ("in", "equals", "contains_any")
                if op in c
            )
            rules.append(Rule(raw["id"], raw["partner"], conditions, raw.get("description", "")))
        ids = [r.id for r in rules]
        if len(set(ids)) != len(ids):
            raise RoutingPolicyError("rule ids must be unique")
        unknown = sorted({r.partner for r in rules} - partner_ids)
        if unknown:
            raise RoutingPolicyError(f"rules name unknown partners: {', '.join(unknown)}")
        if rules[-1].conditions:
            raise RoutingPolicyError(f"the last rule ({rules[-1].id}) must be a fallback without conditions")
        return cls(int(data["version"]), tuple(rules))

    def decide(self, intake: dict[str, Any]) -> RoutingDecision:
        for rule in self.rules:
            if rule.matches(intake):
                return RoutingDecision(rule.id, rule.partner, rule.reason())
        raise RoutingPolicyError("no rule matched; the policy has no fallback")  # pragma: no cover


def lookup(document: dict[str, Any], dotted: str) -> Any:
    current: Any = document
    for part in dotted.split("."):
        if not isinstance(current, dict) or part not in current:
            return _MISSING
        current = current[part]
    return current
