"""API Gateway throttling and what every function gets: environment, log group."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.adapters.parameter_store import EXTENSION_PORT
from chalicelib.errors import NO_SUCH_ROUTE
from infrastructure.identity import APP_CLIENT, DOMAIN, USER_POOL
from infrastructure.naming import StageNames

REST_API = "RestAPI"  # the logical id `chalice package` gives the REST API
NO_SUCH_ROUTE_RESPONSE = "NoSuchRouteResponse"
EXTENSION_LAYER_PARAMETER = "ParametersSecretsExtensionLayerArn"
EXTENSION_PORT_NUMBER = "2773"  # the extension's documented default, set explicitly as the switch
LOG_GROUP = "FunctionLogGroup"
QUEUE_URL_PREFIX = "https://sqs.${AWS::Region}.amazonaws.com/${AWS::AccountId}/"
# Steady rate and burst for the whole stage; the public, unauthenticated intake is stricter so a
# script cannot flood partners' queues (per-person limits come from the idempotency key and SMS limits).
STAGE_RATE, STAGE_BURST = 50, 100
INTAKE_RATE, INTAKE_BURST = 5, 20


def method_settings() -> list[dict[str, Any]]:
    return [
        {
            "ResourcePath": "/*",
            "HttpMethod": "*",
            "ThrottlingRateLimit": STAGE_RATE,
            "ThrottlingBurstLimit": STAGE_BURST,
        },
        {
            # Method settings encode "/" inside a path as "~1".
            "ResourcePath": "/~1intake",
            "HttpMethod": "POST",
            "ThrottlingRateLimit": INTAKE_RATE,
            "ThrottlingBurstLimit": INTAKE_BURST,
            "MetricsEnabled": True,
        },
    ]


def function_environment(names: StageNames) -> dict[str, Any]:
    """Values only the stack knows; static ones stay in .chalice/config.json."""
    return {
        "COGNITO_USER_POOL_ID": {"Ref": USER_POOL},
        "COGNITO_APP_CLIENT_ID": {"Ref": APP_CLIENT},
        # The hosted UI's domain prefix: the staff page sends people there to sign in.
        "COGNITO_DOMAIN": {"Ref": DOMAIN},
        # The account SID and auth token are SecureString parameters under this prefix.
        "TWILIO_SSM_PREFIX": names.twilio_ssm_prefix,
        "TWILIO_MESSAGING_SERVICE_SID": {"Ref": "TwilioMessagingServiceSid"},
        "TWILIO_FROM": {"Ref": "TwilioFrom"},
        "PUBLIC_BASE_URL": {"Ref": "PublicBaseUrl"},
        # Status-link sealing and phone-number hashing keys (chalicelib/keys.py), SecureString parameters.
        **names.app_key_parameters,
        # Read through the Parameters and Secrets extension (its layer, below) on this port: a cold
        # start then makes no SSM client (chalicelib/adapters/parameter_store.py).
        EXTENSION_PORT: EXTENSION_PORT_NUMBER,
        # The partner queues' URLs are this plus the queue name: routing sends case.routed without a
        # GetQueueUrl round trip first (chalicelib/adapters/sqs.py).
        "QUEUE_URL_PREFIX": {"Fn::Sub": QUEUE_URL_PREFIX},
    }


def globals_section(names: StageNames) -> dict[str, Any]:
    # SAM merges Globals into every AWS::Serverless::Function Chalice generates, including
    # functions added later, so no function can miss its environment or its log group.
    return {
        "Function": {
            "Environment": {"Variables": function_environment(names)},
            # SAM adds Globals' layers before each function's own (Chalice's dependency layer).
            "Layers": [{"Ref": EXTENSION_LAYER_PARAMETER}],
            "LoggingConfig": {"LogGroup": {"Ref": LOG_GROUP}, "LogFormat": "Text"},
        }
    }


def api_overrides() -> dict[str, Any]:
    """Deep-merged by `chalice package` into the REST API it generates, and its gateway responses."""
    return {
        REST_API: {"Properties": {"MethodSettings": method_settings()}},
        NO_SUCH_ROUTE_RESPONSE: {
            "Type": "AWS::ApiGateway::GatewayResponse",
            "Properties": {
                "RestApiId": {"Ref": REST_API},
                # API Gateway's answer to a path no route has: by default a 403 whose message repeats
                # the request's Authorization header (a staff member's token) in full.
                "ResponseType": "MISSING_AUTHENTICATION_TOKEN",
                "StatusCode": "404",
                "ResponseParameters": {
                    "gatewayresponse.header.Access-Control-Allow-Origin": "'*'",
                    "gatewayresponse.header.Cache-Control": "'no-store'",
                },
                "ResponseTemplates": {"application/json": json.dumps(NO_SUCH_ROUTE)},
            },
        },
    }
