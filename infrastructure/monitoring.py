"""Logs and alarms: API 5xx, Lambda errors per function, a stream function falling behind, dead letters, failed SMS."""

from __future__ import annotations

from typing import Any

from infrastructure.api import LOG_GROUP
from infrastructure.messaging import DEAD_LETTER_QUEUE
from infrastructure.naming import StageNames
from infrastructure.tables import KEY_RESOURCE

ALARM_TOPIC = "AlarmTopic"
HAS_ALARM_EMAIL = "HasAlarmEmail"
METRIC_NAMESPACE = "MigraNet"
SMS_FAILED_METRIC = "SmsFailed"
# The app writes one structured log line per finally failed SMS, e.g.
# {"event": "sms.failed", "message_id": "...", "reason": "rejected", "error_code": "21211"} (never the number).
# A quoted term matches the text wherever it appears, whatever the JSON spacing or log prefix.
SMS_FAILED_PATTERN = '"sms.failed"'
SMS_FAILED_PER_HOUR = 5
# An erased applicant's SMS that Twilio's log still holds after every retry (the line names the SID only):
# someone deletes it in Twilio's console.
SMS_FORGET_FAILED_METRIC = "SmsForgetFailed"
SMS_FORGET_FAILED_PATTERN = '"sms.forget_failed"'
# A stream function this far behind its stream: partners hear of new cases late (notify_partners
# sends what is still marked after its grace period, so nothing is lost meanwhile).
STREAM_BEHIND_MS = 60_000


def _alarm(description: str, metric: dict[str, Any], threshold: float, period: int) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": description,
            **metric,
            "Period": period,
            "EvaluationPeriods": 1,
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            # No data means nothing happened (no traffic, no failures): not an alarm.
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": ALARM_TOPIC}],
            "OKActions": [{"Ref": ALARM_TOPIC}],
        },
    }


def _log_count(pattern: str, metric: str) -> dict[str, Any]:
    """A metric counting the app's log lines that match `pattern` (one per event)."""
    return {
        "Type": "AWS::Logs::MetricFilter",
        "Properties": {
            "LogGroupName": {"Ref": LOG_GROUP},
            "FilterPattern": pattern,
            "MetricTransformations": [{"MetricNamespace": METRIC_NAMESPACE, "MetricName": metric, "MetricValue": "1"}],
        },
    }


def _metric(namespace: str, name: str, statistic: str, dimensions: dict[str, Any]) -> dict[str, Any]:
    return {
        "Namespace": namespace,
        "MetricName": name,
        "Statistic": statistic,
        "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
    }


def monitoring_resources(
    names: StageNames,
    functions: dict[str, str],
    api_name: str,
    api_stage: str,
    stream_functions: tuple[str, ...] = (),
) -> dict[str, Any]:
    resources: dict[str, Any] = {
        LOG_GROUP: {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": names.log_group,
                "RetentionInDays": {"Ref": "LogRetentionDays"},
                "KmsKeyId": {"Fn::GetAtt": [KEY_RESOURCE, "Arn"]},
            },
        },
        "SmsFailedMetricFilter": _log_count(SMS_FAILED_PATTERN, SMS_FAILED_METRIC),
        "SmsForgetFailedMetricFilter": _log_count(SMS_FORGET_FAILED_PATTERN, SMS_FORGET_FAILED_METRIC),
        ALARM_TOPIC: {
            "Type": "AWS::SNS::Topic",
            "Properties": {
                "DisplayName": f"MigraNet Intake {names.stage} alarms",
                "KmsMasterKeyId": {"Ref": KEY_RESOURCE},
            },
        },
        "AlarmEmailSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Condition": HAS_ALARM_EMAIL,
            "Properties": {"TopicArn": {"Ref": ALARM_TOPIC}, "Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}},
        },
        "Api5xxAlarm": _alarm(
            "The API answered with a 5xx: an applicant or staff member saw an error.",
            _metric("AWS/ApiGateway", "5XXError", "Sum", {"ApiName": api_name, "Stage": api_stage}),
            threshold=1,
            period=300,
        ),
        "DeadLetterQueueAlarm": _alarm(
            "A partner notification failed 5 times and sits in the dead-letter queue.",
            _metric(
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                "Maximum",
                {"QueueName": {"Fn::GetAtt": [DEAD_LETTER_QUEUE, "QueueName"]}},
            ),
            threshold=1,
            period=300,
        ),
        "SmsFailedAlarm": _alarm(
            f"{SMS_FAILED_PER_HOUR}+ SMS failed for good within an hour (Twilio credentials, balance or sender?).",
            {"Namespace": METRIC_NAMESPACE, "MetricName": SMS_FAILED_METRIC, "Statistic": "Sum"},
            threshold=SMS_FAILED_PER_HOUR,
            period=3600,
        ),
        "SmsForgetFailedAlarm": _alarm(
            "An erased applicant's SMS could not be deleted at Twilio: delete the SID the log names in its console.",
            {"Namespace": METRIC_NAMESPACE, "MetricName": SMS_FORGET_FAILED_METRIC, "Statistic": "Sum"},
            threshold=1,
            period=3600,
        ),
    }
    for python_name, logical_id in sorted(functions.items()):
        resources[f"{logical_id}ErrorsAlarm"] = _alarm(
            f"Lambda function {python_name} failed (exception, timeout or out of memory).",
            _metric("AWS/Lambda", "Errors", "Sum", {"FunctionName": {"Ref": logical_id}}),
            threshold=1,
            period=300,
        )
    for python_name in stream_functions:
        logical_id = functions[python_name]
        resources[f"{logical_id}IteratorAgeAlarm"] = _alarm(
            f"Lambda function {python_name} is a minute or more behind its DynamoDB stream.",
            _metric("AWS/Lambda", "IteratorAge", "Maximum", {"FunctionName": {"Ref": logical_id}}),
            threshold=STREAM_BEHIND_MS,
            period=300,
        )
    return resources


def monitoring_outputs() -> dict[str, Any]:
    return {"AlarmTopicArn": {"Value": {"Ref": ALARM_TOPIC}}}
