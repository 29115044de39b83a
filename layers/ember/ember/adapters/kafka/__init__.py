"""Kafka adapters (kafka-python): client settings, publishing, consuming."""
