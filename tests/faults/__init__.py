"""The operator's fault run: the shop deployed as in production (two API processes, two
workers, PostgreSQL, Redis), customers and staff at work, faults injected one at a time, and
the shop's invariants checked once it has settled. Used by tests/system/test_fault_run.py
(a short run in `make test`) and by `python -m tests.faults` (the soak, `make faults`).

    deployment.py    the processes, their ports and environment, the private Redis
    cast.py          the catalog, stock, customers and staff the run starts with
    answers.py       the HTTP client of each actor; every answer recorded
    retrying.py      how the clients retry (same key; Retry-After, capped)
    shoppers.py      customers: cart, checkout, retry, give up
    staff.py         staff: ship confirmed orders, refund shipped ones
    schedule.py      the seeded fault plan
    injection.py     injecting each fault and waiting for the repair
    snapshot.py      the books, read by SQL
    book_checks.py   stock, reservations, orders, carts, dead letters
    money_checks.py  the gateway's books against the shop's
    mail.py          emails against orders
    answer_checks.py the answers: no 500, no lost request, 201s, replays
    invariants.py    waiting for the shop to settle; every check, with its result
    run.py           one run, start to end
    report.py        what the run prints
"""
