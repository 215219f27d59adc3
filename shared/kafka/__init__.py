"""Kafka: clients with safe defaults, their connection options, the topics."""
