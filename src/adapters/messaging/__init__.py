"""Messaging (outbox relay, Redis Streams, pub/sub, cache). Arrives with issue [4 of 6]."""
