"""Item 6: two instances behind nginx against one.

shopcore side: wrk listing and checkout through nginx (keep-alive upstream) to two
`shopcore serve`.
Ceiling: one instance: its listing measured again just before, item 2's checkout peak.
No target: on 2 cores PostgreSQL, Redis, nginx and wrk share the cores a second instance
would use, so this shows what a second process buys on this machine, not in general.

The single instance's listing is measured again right before the pair, so both sides see
the machine in the same state. nginx runs under a config of its own in
`/tmp/shopcore-bench/nginx/`, never as the system service; its server block is the one the
compose deployment runs, `deploy/nginx/shopcore.conf.template` (`config.NGINX_TEMPLATE`).
"""

from __future__ import annotations

import string
from pathlib import Path

from bench import config, procs
from bench.context import Context
from bench.report import Row, fmt, log, missing, wrk_summary
from bench.traffic import CARTS_PER_CHECKOUT_SECOND, LISTING, api_url, peak_checkouts, read_peak


def run(ctx: Context) -> None:
    log("item 6: two API instances behind nginx against one")
    if "worker" in ctx.procs:  # item 5 ran (BENCH_ITEMS may leave it out)
        ctx.procs["worker"].stop()
    ctx.start_api("api-2", config.API_PORT_2)
    ngx = start_nginx()
    ctx.procs["nginx"] = ngx
    try:
        # One instance again, right before, so both sides see the same machine.
        single = read_peak(config.API_PORT, LISTING, ctx.durations)
        port = config.NGINX_PORT
        listing = read_peak(port, LISTING, ctx.durations)
        budget = int(CARTS_PER_CHECKOUT_SECOND * ctx.durations.checkout)
        cart_file = ctx.carts_file("checkout-nginx", budget)
        run = peak_checkouts(port, cart_file, ctx.durations)
        checkout, confirmed = run.result, run.confirmed
    finally:
        ngx.stop()
    one_read = single.rps
    one_checkout = ctx.report.details.get("checkout_rps")
    ctx.report.add(
        Row(
            "6",
            "catalog listing: 2 instances + nginx vs 1 instance",
            listing.rps,
            one_read,
            note=f"p99 {fmt(listing.p99_ms)} ms; the single instance measured just before",
            missing=missing(p99=listing.p99_ms),
        )
    )
    ctx.report.add(
        Row(
            "6",
            "checkout: 2 instances + nginx vs 1 instance",
            checkout.rps,
            one_checkout,
            unit="orders/s",
            note=f"p99 {fmt(checkout.p99_ms)} ms; {confirmed} orders confirmed, "
            f"{checkout.non_2xx} non-2xx; 1 instance: item 2's peak",
            missing=missing(p99=checkout.p99_ms),
        )
    )
    ctx.report.details["nginx"] = {
        "single_listing": wrk_summary(single),
        "listing": wrk_summary(listing),
        "checkout": wrk_summary(checkout),
    }


def start_nginx() -> procs.Proc:
    """nginx in front of both instances, keeping 64 connections to them open."""
    work = config.WORK / "nginx"
    work.mkdir(exist_ok=True)
    conf = write_config(
        work,
        listen=f"127.0.0.1:{config.NGINX_PORT}",
        upstreams=[f"127.0.0.1:{config.API_PORT}", f"127.0.0.1:{config.API_PORT_2}"],
    )
    proc = procs.start("nginx", [procs.nginx_binary(), "-c", str(conf), "-p", str(work)], {})
    procs.wait_http(api_url(config.NGINX_PORT, "/health/live"), proc)
    return proc


def write_config(work: Path, *, listen: str, upstreams: list[str]) -> Path:
    """nginx.conf in `work`: the process's own settings (pid, logs and temporary files in
    `work`, in the foreground), around the deployment's server block filled in for these
    addresses. Returns its path."""
    site = work / "shopcore.conf"
    site.write_text(site_config(listen=listen, upstreams=upstreams))
    conf = work / "nginx.conf"
    conf.write_text(
        f"""
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    include {site};
}}
"""
    )
    return conf


def site_config(*, listen: str, upstreams: list[str]) -> str:
    """deploy/nginx/shopcore.conf.template with its two placeholders filled in, as the nginx
    image's envsubst fills them in compose. nginx's own `$variables` stay; a placeholder left
    unfilled is an error rather than a config nginx would read wrong."""
    template = string.Template(config.NGINX_TEMPLATE.read_text())
    text = template.safe_substitute(
        NGINX_LISTEN=listen,
        NGINX_UPSTREAM_SERVERS=" ".join(f"server {address};" for address in upstreams),
    )
    if "${" in text:
        raise ValueError(f"{config.NGINX_TEMPLATE} has a placeholder the bench does not fill")
    return text
