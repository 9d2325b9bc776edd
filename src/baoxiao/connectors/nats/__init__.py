"""NATS JetStream connector: every event published to a durable stream, acked."""
