"""Deployment to AWS: CloudFormation templates, notification merge, Lambda package build."""
