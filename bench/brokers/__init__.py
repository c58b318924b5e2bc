"""Redis Streams against NATS JetStream and RabbitMQ, doing what shopcore's relay and workers do.

Decision 0003 chose Redis Streams for the events; this package measures that choice against the
two brokers that also run on this machine, in one run, with the same payload and counts:

- **relay throughput**: one publisher, as shopcore runs one relay at a time, takes outbox
  entries in batches of 200 (`OutboxRelay`'s default), publishes a batch and waits until the
  broker confirmed every entry of it before taking the next (the relay marks a batch published
  only then). Redis: the relay's own append script (`RedisStreamPublisher.publish`, one round
  trip a batch); NATS: JetStream publishes with an ack each, to a file-backed stream, the
  batch's acks awaited together; RabbitMQ: persistent messages to a durable fanout exchange on
  a channel with publisher confirms, the batch's confirms awaited together.
- **end-to-end latency at a fixed rate** (open loop): events are "committed" at a fixed rate
  into an outbox-like queue, which wakes the relay (as `NOTIFY` does); two consumer groups,
  shopcore's `catalog-cache` and `notifications`, each receive every event and acknowledge it.
  Latency runs from the moment an event was due to be committed to the moment a group's
  consumer acknowledged it, for each group: a stall shows in the percentiles, it does not slow
  the sender. Redis: XREADGROUP / XACK; NATS: a durable pull consumer per group, pulled
  continuously; RabbitMQ: a fanout exchange to one durable queue per group, manual acks.

Every broker runs in this one process on one event loop, as shopcore's relay and a worker each
do, so the Python client's cost per message is part of each figure. Nothing here is part of
`make test`: `make bench-brokers` (`python -m bench.brokers --help`).
"""
