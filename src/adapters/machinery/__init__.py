"""Machinery the adapter families share: loop-level mechanisms behind ports, not shop rules.

The core (`shopcore`) holds the shop's rules and the ports those rules call. Some code serves
only the adapters: the live-stock fan-out behind the HTTP stream endpoint, the outbox relay
between the database and the event stream, single-flight loading and the cached response
bodies behind the catalog cache. Several families need each piece (the memory and the messaging
adapters both feed live stock; the HTTP adapter reads it), families never import each other,
and the core has no use for it, so it lives here:

- `stock_feed`, `stock_fanout`: the StockFeed port, and the bounded per-subscription queues
  that both feeds fan their updates out through;
- `outbox`, `outbox_relay`: the ports between the outbox and the event stream, and the loop
  that relays committed events from one to the other;
- `single_flight`: concurrent misses of one key share one load;
- `cached_reads`: cached response bodies, their ETags and tags, and the read side of the
  catalog cache that the HTTP controllers call;
- `request_ids`: the id of the HTTP request being handled, which the HTTP edge sets and the
  log lines of the entry points carry.

What belongs here: asyncio, the standard library, msgspec records, and the core's own types
(events, errors, ports). What does not: an I/O library of its own (no driver, framework or
client: that is what makes a family), and any adapter family: every family may import this
package, so it imports none of them. import-linter holds both (`pyproject.toml`).
"""
