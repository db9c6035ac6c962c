"""Cognito user pool for partner staff: `custom:partner` and `custom:role` are set by administrators only."""

from __future__ import annotations

from typing import Any

from infrastructure.naming import StageNames

USER_POOL = "StaffUserPool"
APP_CLIENT = "StaffAppClient"
DOMAIN = "StaffUserPoolDomain"
ADMIN_ONLY_ATTRIBUTES = ["custom:partner", "custom:role"]
HAS_PUBLIC_BASE_URL = "HasPublicBaseUrl"
HAS_DOMAIN_PREFIX = "HasCognitoDomainPrefix"


def _custom_attribute(name: str, max_length: int) -> dict[str, Any]:
    # Mutable so a coordinator can move a person to another institution with
    # admin-update-user-attributes; the app client below cannot write them.
    return {
        "Name": name,
        "AttributeDataType": "String",
        "Mutable": True,
        "StringAttributeConstraints": {"MinLength": "1", "MaxLength": str(max_length)},
    }


def _when_public_url(value: Any) -> dict[str, Any]:
    return {"Fn::If": [HAS_PUBLIC_BASE_URL, value, {"Ref": "AWS::NoValue"}]}


def identity_resources(names: StageNames) -> dict[str, Any]:
    staff_page = {"Fn::Sub": "${PublicBaseUrl}/staff"}
    return {
        USER_POOL: {
            "Type": "AWS::Cognito::UserPool",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "UserPoolName": names.user_pool,
                "DeletionProtection": "ACTIVE",
                # Staff accounts are created by coordinators; nobody signs themselves up.
                "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
                "UsernameAttributes": ["email"],
                "AutoVerifiedAttributes": ["email"],
                "AccountRecoverySetting": {"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]},
                "MfaConfiguration": {"Ref": "StaffMfa"},
                "EnabledMfas": ["SOFTWARE_TOKEN_MFA"],
                "Policies": {
                    "PasswordPolicy": {
                        "MinimumLength": 12,
                        "RequireLowercase": True,
                        "RequireUppercase": True,
                        "RequireNumbers": True,
                        "RequireSymbols": False,
                        "TemporaryPasswordValidityDays": 3,
                    }
                },
                "Schema": [
                    {"Name": "email", "AttributeDataType": "String", "Required": True, "Mutable": True},
                    {"Name": "name", "AttributeDataType": "String", "Required": False, "Mutable": True},
                    _custom_attribute("partner", 64),
                    _custom_attribute("role", 32),
                ],
                "UserPoolTags": {"migranet:stage": names.stage},
            },
        },
        APP_CLIENT: {
            "Type": "AWS::Cognito::UserPoolClient",
            "Properties": {
                "UserPoolId": {"Ref": USER_POOL},
                "ClientName": f"migranet-{names.stage}-staff-page",
                # A browser page cannot keep a secret: public client, SRP or hosted UI with PKCE.
                "GenerateSecret": False,
                "ExplicitAuthFlows": ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                "PreventUserExistenceErrors": "ENABLED",
                "EnableTokenRevocation": True,
                "ReadAttributes": ["email", "email_verified", "name", *ADMIN_ONLY_ATTRIBUTES],
                "WriteAttributes": ["email", "name"],
                "IdTokenValidity": 60,
                "AccessTokenValidity": 60,
                "RefreshTokenValidity": 12,
                "TokenValidityUnits": {"IdToken": "minutes", "AccessToken": "minutes", "RefreshToken": "hours"},
                "SupportedIdentityProviders": ["COGNITO"],
                "AllowedOAuthFlowsUserPoolClient": {"Fn::If": [HAS_PUBLIC_BASE_URL, True, False]},
                "AllowedOAuthFlows": _when_public_url(["code"]),
                "AllowedOAuthScopes": _when_public_url(["openid", "email", "profile"]),
                "CallbackURLs": _when_public_url([staff_page]),
                "LogoutURLs": _when_public_url([staff_page]),
            },
        },
        DOMAIN: {
            "Type": "AWS::Cognito::UserPoolDomain",
            "Properties": {
                "UserPoolId": {"Ref": USER_POOL},
                # Hosted UI prefixes are global: default to one that contains the account id.
                "Domain": {
                    "Fn::If": [
                        HAS_DOMAIN_PREFIX,
                        {"Ref": "CognitoDomainPrefix"},
                        {"Fn::Sub": "migranet-" + names.stage + "-${AWS::AccountId}"},
                    ]
                },
            },
        },
    }


def identity_outputs() -> dict[str, Any]:
    return {
        "StaffUserPoolId": {"Value": {"Ref": USER_POOL}},
        "StaffAppClientId": {"Value": {"Ref": APP_CLIENT}},
        "StaffHostedUiUrl": {"Value": {"Fn::Sub": f"https://${{{DOMAIN}}}.auth.${{AWS::Region}}.amazoncognito.com"}},
    }
