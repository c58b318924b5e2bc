"""The bench's own wiring, without a server: which items a run picks, and how its table reads."""

from __future__ import annotations

import pytest

from bench import procs, run
from bench.capture import Rules
from bench.report import Report, Row, json_payload, markdown, missing
from bench.scenarios import SCENARIOS, selected

META = {
    "started": "2026-11-25 17:22 UTC",
    "machine": "2 cores, CPython 3.11.9, x86_64",
    "duration_s": 215.4,
    "load_average_before": [0.44, 0.5, 0.6],
    "load_average_after": [2.01, 1.5, 1.0],
}


def test_no_items_named_runs_every_item_in_the_runs_order() -> None:
    assert list(selected([])) == [
        "reads",
        "checkout",
        "flash_sale",
        "logins",
        "worker",
        "nginx",
        "streams",
    ]


def test_named_items_run_in_the_runs_order_not_in_the_order_named() -> None:
    chosen = selected(["streams", "reads"])

    assert list(chosen) == ["reads", "streams"]
    assert chosen["reads"] is SCENARIOS["reads"]


def test_items_are_picked_by_the_numbers_the_table_shows_as_well_as_by_name() -> None:
    assert list(selected(["2"])) == ["checkout"]
    assert list(selected(["8", "reads", "6"])) == ["reads", "logins", "nginx"]


def test_an_unknown_item_is_refused_with_the_names_and_numbers_it_could_have_been() -> None:
    with pytest.raises(SystemExit) as refused:
        selected(["reads", "nosuch", "9"])

    message = str(refused.value)
    assert message.startswith("BENCH_ITEMS: unknown 9, nosuch; known: 1 reads, 2 checkout,")
    assert "7 memory" in message


def test_memory_alone_runs_no_other_item_since_every_run_ends_with_it() -> None:
    assert selected(["memory"]) == {}
    assert selected(["7"]) == {}


def test_an_unknown_item_is_refused_before_the_run_installs_or_loads_anything(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def must_not_run() -> list[str]:
        raise AssertionError("the run started before BENCH_ITEMS was checked")

    monkeypatch.setattr(procs, "ensure_tools", must_not_run)
    monkeypatch.setenv("BENCH_ITEMS", "2, 11")

    with pytest.raises(SystemExit, match="unknown 11"):
        run.main()


def test_a_row_has_a_ratio_only_when_both_sides_were_measured() -> None:
    assert Row("1", "listing", 300.0, 1200.0).ratio == 0.25
    assert Row("1", "listing", None, 1200.0).ratio is None
    assert Row("1", "listing", 300.0, 0.0).ratio is None
    assert Row("7", "peak RSS", 120.0, unit="MB").ratio is None


def test_the_table_shows_each_row_with_its_ceiling_ratio_and_verdict(
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = Report()
    missed = report.add(Row("1", "catalog listing", 2903.8, 6870.3, target=">= 0.7x", note="p99"))
    missed.met = False
    report.add(Row("8", "logins", 24.4, unit="logins/s"))

    lines = markdown(report, META).splitlines()

    assert "  1   catalog listing" in capsys.readouterr().out
    assert lines[0] == "# shopcore benchmark: latest run"
    assert "215 s in all" in lines[2]
    assert lines[6:] == [
        "| 1 | catalog listing | 2,903.8 req/s | 6,870.3 req/s | 0.42x | >= 0.7x | **no** | p99 |",
        "| 8 | logins | 24.4 logins/s |  |  |  |  |  |",
    ]


def test_the_table_says_what_the_recorded_checkout_sends_and_lists_the_notes() -> None:
    report = Report()
    report.details["checkout_sql"] = {
        "statements": 27,
        "autocommit_statements": 11,
        "transactions": 5,
        "round_trips": 37,
    }
    report.notes.append("ran out of prepared carts (600 wanted)")

    text = markdown(report, META)

    assert (
        "sends 27 statements, 11 of them alone in autocommit and the rest in 5 transactions: "
        "37 round trips to PostgreSQL"
    ) in text
    assert text.endswith("\n- ran out of prepared carts (600 wanted)\n")


def test_the_json_keeps_each_rows_ratio_beside_its_figures() -> None:
    report = Report()
    report.add(Row("2", "checkout", 15.0, 150.0, unit="orders/s"))

    payload = json_payload(report, META)

    assert payload["rows"][0]["ratio"] == 0.1
    assert payload["rows"][0]["shopcore"] == 15.0
    assert payload["meta"] is META


def test_a_row_whose_figure_could_not_be_read_is_shown_missing_and_not_met() -> None:
    report = Report()
    unread = report.add(Row("2", "checkout p99", None, unit="ms p99", target="p99 < 50 ms"))
    unread.met = True  # whatever the item decided, a missing figure is never met
    no_target = report.add(Row("1", "listing, uncached", 111.4, 6870.3, note="p99 missing ms"))
    no_target.missing = missing(p99=None, p50=12.0)

    lines = markdown(report, META).splitlines()
    rows = json_payload(report, META)["rows"]

    assert lines[6:] == [
        "| 2 | checkout p99 | **missing** |  |  | p99 < 50 ms | **no** | "
        "**could not read: figure** |",
        "| 1 | listing, uncached | 111.4 req/s | 6,870.3 req/s | 0.02x |  | **no** | "
        "**could not read: p99**; p99 missing ms |",
    ]
    assert [(row["met"], row["missing"]) for row in rows] == [
        (False, ["figure"]),
        (False, ["p99"]),
    ]


def test_the_pgbench_script_makes_every_generated_id_per_transaction_also_inside_a_key() -> None:
    order, customer = "01a24fb2-cb1a-7a52-b8db-c089c5c20676", "01a24fb2-0000-7000-8000-000000000001"
    rules = Rules(cart_id="cart", cart_prefix="pgbc", keep={customer}, skus={})

    assert rules.render(order) == "(('pgb0-' || :client_id || '-' || :n))"
    assert rules.render(f"ch_{order}") == "('ch_' || ('pgb0-' || :client_id || '-' || :n))"
    assert rules.render(f"{order}:authorize") == (
        "(('pgb0-' || :client_id || '-' || :n) || E'\\x3aauthorize')"
    )
    assert rules.render(customer) == f"'{customer}'"
    assert rules.render(f'["{order}"]') == f"'[\"{order}\"]'"  # JSON stays as recorded


def test_the_pgbench_script_sends_an_array_argument_as_an_array_of_its_rendered_items() -> None:
    order = "01a24fb2-cb1a-7a52-b8db-c089c5c20676"
    rules = Rules(cart_id="cart", cart_prefix="pgbc", keep=set(), skus={"SKU-1": ":sku1"})

    assert rules.render(["SKU-1", "main"]) == "ARRAY[:sku1, 'main']"  # each SKU per transaction
    assert rules.render([3, 0]) == "ARRAY[3, 0]"
    assert rules.render([order]) == "ARRAY[(('pgb0-' || :client_id || '-' || :n))]"
