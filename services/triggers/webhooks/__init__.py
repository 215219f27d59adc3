"""Webhook subscriptions and deliveries per the Standard Webhooks specification."""
