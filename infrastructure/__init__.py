"""Deployable AWS infrastructure: CloudFormation merged into `chalice package`, generated from the code."""
