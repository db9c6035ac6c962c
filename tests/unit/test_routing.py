"""The seeded routing policy: every rule, its order, the fallback, and the explanations."""

from __future__ import annotations

import copy

import pytest

from chalicelib.data import default_partners, default_routing_rules
from chalicelib.domain.routing import RoutingPolicy, RoutingPolicyError, conditions_of
from chalicelib.validation import validate

PARTNER_IDS = {p["id"] for p in default_partners()}


@pytest.fixture
def policy() -> RoutingPolicy:
    return RoutingPolicy.from_dict(default_routing_rules(), PARTNER_IDS)


def intake(group: str = "other", goals: tuple[str, ...] = ("orientation",), registered: bool = False) -> dict:
    return {
        "qualification": {"profession_group": group},
        "goals": list(goals),
        "registered_with_employment_agency": registered,
    }


def test_seeded_rules_are_valid_against_their_schema():
    assert validate("routing-rules", default_routing_rules()) == []


def test_the_five_partners_are_seeded():
    assert PARTNER_IDS == {
        "servicestelle-muenchen",
        "via-bayern",
        "arbeitsagentur-muenchen",
        "akademie-ingenieure",
        "lmu-klinikum",
    }


@pytest.mark.parametrize(
    ("case", "rule", "partner"),
    [
        (intake("health"), "health-professions", "lmu-klinikum"),
        (intake("engineering"), "engineering-construction", "akademie-ingenieure"),
        (intake("it", ("recognition",)), "recognition-counselling", "servicestelle-muenchen"),
        (intake("business", ("job",), registered=True), "job-placement", "arbeitsagentur-muenchen"),
        (intake("business", ("job",), registered=False), "general-counselling", "via-bayern"),
        (intake("trades", ("language",), registered=True), "general-counselling", "via-bayern"),
        (intake("education", ("orientation", "training")), "general-counselling", "via-bayern"),
    ],
)
def test_each_rule(policy, case, rule, partner):
    decision = policy.decide(case)
    assert (decision.rule, decision.partner) == (rule, partner)


def test_order_matters_first_match_wins(policy):
    # A nurse who wants recognition and a job and is registered matches rules 1, 3 and 4: rule 1 wins.
    decision = policy.decide(intake("health", ("recognition", "job"), registered=True))
    assert decision.rule == "health-professions"
    # An engineer wanting recognition matches 2 and 3: 2 wins.
    assert policy.decide(intake("engineering", ("recognition",))).rule == "engineering-construction"
    # Recognition beats job placement.
    assert policy.decide(intake("it", ("job", "recognition"), registered=True)).rule == "recognition-counselling"


def test_decisions_explain_why(policy):
    assert policy.decide(intake("health")).reason == "qualification.profession_group is health"
    assert (
        policy.decide(intake("it", ("job",), registered=True)).reason
        == "registered_with_employment_agency is true and goals contains job"
    )
    assert "fallback" in policy.decide(intake()).reason


def test_missing_fields_never_match_a_condition(policy):
    assert policy.decide({}).rule == "general-counselling"


def test_policy_without_fallback_is_refused():
    rules = copy.deepcopy(default_routing_rules())
    rules["rules"].pop()
    with pytest.raises(RoutingPolicyError, match="fallback"):
        RoutingPolicy.from_dict(rules, PARTNER_IDS)


def test_policy_naming_unknown_partner_is_refused():
    rules = copy.deepcopy(default_routing_rules())
    rules["rules"][0]["partner"] = "nobody"
    with pytest.raises(RoutingPolicyError, match="nobody"):
        RoutingPolicy.from_dict(rules, PARTNER_IDS)


def test_duplicate_rule_ids_are_refused():
    rules = copy.deepcopy(default_routing_rules())
    rules["rules"][1]["id"] = rules["rules"][0]["id"]
    with pytest.raises(RoutingPolicyError, match="unique"):
        RoutingPolicy.from_dict(rules, PARTNER_IDS)


def test_rules_schema_rejects_unknown_operators():
    rules = copy.deepcopy(default_routing_rules())
    rules["rules"][0]["when"][0] = {"field": "goals", "matches": "job"}
    assert validate("routing-rules", rules)


def _shown(value: object) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [str(v).lower() if isinstance(v, bool) else str(v) for v in values]


def test_every_shipped_rules_reason_reads_back_into_its_conditions(policy: RoutingPolicy) -> None:
    """Pages say a stored reason in their own language from these conditions (staff page)."""
    for rule in policy.rules:
        expected = [
            {"field": c.field, "test": "contains" if c.operator == "contains_any" else "is", "values": _shown(c.value)}
            for c in rule.conditions
        ]
        assert conditions_of(rule.reason()) == expected, rule.id


@pytest.mark.parametrize("reason", ["", "routed by hand", "goals contains", "a b is c", "goals contains job or"])
def test_a_reason_not_in_the_rules_wording_is_left_as_it_is(reason: str) -> None:
    assert conditions_of(reason) is None
