"""List prices the cost estimate uses: eu-central-1 (Frankfurt) on-demand, USD, and Twilio SMS to Germany.

PRICES_AS_OF is the date these figures were taken from the public price pages (AWS pricing
pages for Lambda, API Gateway, DynamoDB, SQS, CloudWatch; Twilio's SMS pricing page for
Germany). This machine has no internet access, so `make bench` cannot refresh them: check
them against the pages before quoting a figure, and update the date when you change one.
"""

from __future__ import annotations

PRICES_AS_OF = "2025-06-01"
CURRENCY = "USD"

# AWS Lambda, x86, eu-central-1.
LAMBDA_GB_SECOND = 0.0000166667
LAMBDA_PER_MILLION_REQUESTS = 0.20
# API Gateway REST API, eu-central-1, first 333 million requests a month.
API_GATEWAY_REST_PER_MILLION = 3.70
# DynamoDB on-demand, eu-central-1 (after AWS's November 2024 on-demand price cut).
DYNAMODB_PER_MILLION_WRU = 0.7625
DYNAMODB_PER_MILLION_RRU = 0.1525
DYNAMODB_STORAGE_GB_MONTH = 0.306
# SQS standard queue, per million requests (send, receive and delete count one each).
SQS_PER_MILLION_REQUESTS = 0.40
# CloudWatch Logs ingestion, eu-central-1.
CLOUDWATCH_LOGS_PER_GB = 0.63
# Twilio programmable SMS, outbound to German mobile numbers, per segment (list price, no volume discount).
TWILIO_SMS_GERMANY_PER_SEGMENT = 0.0874
TWILIO_PRICE_AS_OF = "2025-06-01"
# Free tiers are ignored on purpose: the estimate is what the network pays once they are used up.
