"""Partner queues with a dead-letter queue, the staff user pool, secrets by name only."""

from __future__ import annotations

from typing import Any

from chalicelib.data import default_partners
from infrastructure.naming import names

PROD = names("prod")


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r.get("Type") == kind}


def test_one_encrypted_queue_per_partner_redriving_to_the_dead_letter_queue(merge_template):
    queues = {
        r["Properties"]["QueueName"]: (k, r["Properties"])
        for k, r in resources(merge_template, "AWS::SQS::Queue").items()
    }
    partner_queues = {PROD.queue(p["id"]) for p in default_partners()}
    assert set(queues) == partner_queues | {PROD.dead_letter_queue}
    dlq_id, dlq = queues[PROD.dead_letter_queue]
    assert "RedrivePolicy" not in dlq
    for name in partner_queues:
        properties = queues[name][1]
        assert properties["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": [dlq_id, "Arn"]}, name
        assert properties["RedrivePolicy"]["maxReceiveCount"] == 5, name
    for _, properties in queues.values():
        assert "Ref" in properties["KmsMasterKeyId"]


def test_partner_and_role_are_readable_but_only_administrators_can_set_them(merge_template):
    (pool,) = resources(merge_template, "AWS::Cognito::UserPool").values()
    (client,) = resources(merge_template, "AWS::Cognito::UserPoolClient").values()
    properties = pool["Properties"]
    custom = {a["Name"] for a in properties["Schema"] if a["AttributeDataType"] == "String"}
    assert {"partner", "role"} <= custom
    assert properties["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert {"custom:partner", "custom:role"} <= set(client["Properties"]["ReadAttributes"])
    assert not [a for a in client["Properties"]["WriteAttributes"] if a.startswith("custom:")]
    assert client["Properties"]["GenerateSecret"] is False
    assert resources(merge_template, "AWS::Cognito::UserPoolDomain")


def test_twilio_secrets_are_referenced_by_name_never_stored(merge_template):
    assert not resources(merge_template, "AWS::SSM::Parameter")
    environment = merge_template["Globals"]["Function"]["Environment"]["Variables"]
    assert environment["TWILIO_SSM_PREFIX"] == PROD.twilio_ssm_prefix
    assert PROD.twilio_ssm_prefix in merge_template["Outputs"]["TwilioParameters"]["Value"]


def test_alarms_cover_api_errors_dead_letters_and_failed_sms(merge_template):
    alarms = [r["Properties"] for r in resources(merge_template, "AWS::CloudWatch::Alarm").values()]
    metrics = {(a["Namespace"], a["MetricName"]) for a in alarms}
    assert {
        ("AWS/ApiGateway", "5XXError"),
        ("AWS/Lambda", "Errors"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
    } <= metrics
    filters = {
        f["Properties"]["FilterPattern"]: f["Properties"]
        for f in resources(merge_template, "AWS::Logs::MetricFilter").values()
    }
    # Failed SMS, and an erased applicant's SMS that Twilio's log still holds after every retry.
    assert set(filters) == {'"sms.failed"', '"sms.forget_failed"'}
    for sms_filter in filters.values():
        transformation = sms_filter["MetricTransformations"][0]
        assert (transformation["MetricNamespace"], transformation["MetricName"]) in metrics
    assert all(a["AlarmActions"] for a in alarms)
