"""deploy/prometheus/alerts.yaml reads only metrics the API or the worker serves, and each
alert's runbook exists: a renamed metric or a moved section fails here, not silently in
production."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import yaml
from litestar.testing import TestClient

from adapters.db import pool_metrics
from adapters.http import shop_metrics
from adapters.payments import metered
from apps.api import build_app
from apps.components import Components
from apps.settings import Settings
from apps.worker_http import WorkerMetrics

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "alerts.yaml"
RUNBOOKS = ROOT / "docs" / "operations" / "runbooks.md"


def rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def served_metrics() -> set[str]:
    """Every sample name of a scrape, and the names the shop's own metrics take once labelled
    (a labelled metric shows no sample before its first label)."""
    token = "m" * 20
    app = build_app(Components(Settings(jwt_secret="x" * 32, metrics_token=token)))
    with TestClient(app) as client:
        client.get("/v1/products")
        scraped = client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).text
    names = {line.split("{")[0].split(" ")[0] for line in scraped.splitlines() if line[:1] != "#"}
    for module in (shop_metrics, pool_metrics, metered):
        for metric in vars(module).values():
            kind, name = getattr(metric, "_type", None), getattr(metric, "_name", None)
            if kind == "histogram":
                names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
            elif name:
                names.add(f"{name}_total" if kind == "counter" else name)
    return names | worker_metrics()


def worker_metrics() -> set[str]:
    """The sample names of a worker's own counters, with one consumer and a relay that ran."""
    consumer = SimpleNamespace(group="notifications", handled=1, failed=0, dead_lettered=0)
    relay = SimpleNamespace(published=1, last_turn=0.0)
    collector = WorkerMetrics([consumer], relay)  # type: ignore[list-item, arg-type]
    return {sample.name for family in collector.collect() for sample in family.samples}


def _anchor(heading: str) -> str:
    return re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")


def test_every_rule_has_a_severity_a_summary_and_a_duration() -> None:
    for rule in rules():
        assert rule["alert"].startswith("Shopcore"), rule
        assert rule["labels"]["severity"] in ("warning", "critical"), rule
        assert rule["annotations"]["summary"], rule
        assert re.fullmatch(r"\d+m", rule["for"]), rule


def test_every_metric_a_rule_reads_is_served() -> None:
    served = served_metrics()
    for rule in rules():
        for name in re.findall(r"\bshopcore_\w+", rule["expr"]):
            assert name in served, f"{rule['alert']} reads {name}, which /metrics does not serve"


def test_every_runbook_link_leads_to_a_section() -> None:
    headings = {
        _anchor(line[3:].strip())
        for line in RUNBOOKS.read_text(encoding="utf-8").splitlines()
        if line.startswith("## ")
    }
    for rule in rules():
        page, _, anchor = rule["annotations"]["runbook_url"].partition("#")
        assert page == "docs/operations/runbooks.md", rule
        assert anchor in headings, f"{rule['alert']}: no section #{anchor} in the runbooks"
