"""Item 6: two instances behind nginx against one.

shopcore side: wrk listing and checkout through nginx (keep-alive upstream) to two
`shopcore serve`.
Ceiling: one instance: its listing measured again just before, item 2's checkout peak.
No target: on 2 cores PostgreSQL, Redis, nginx and wrk share the cores a second instance
would use, so this shows what a second process buys on this machine, not in general.

The single instance's listing is measured again right before the pair, so both sides see
the machine in the same state. nginx runs under a config of its own in
`/tmp/shopcore-bench/nginx/`, never as the system service.
"""

from __future__ import annotations

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
    upstream shopcore {{
        server 127.0.0.1:{config.API_PORT};
        server 127.0.0.1:{config.API_PORT_2};
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{config.NGINX_PORT};
        location / {{
            proxy_pass http://shopcore;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_buffering off;
        }}
    }}
}}
"""
    )
    proc = procs.start("nginx", [procs.nginx_binary(), "-c", str(conf), "-p", str(work)], {})
    procs.wait_http(api_url(config.NGINX_PORT, "/health/live"), proc)
    return proc
