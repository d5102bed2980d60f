"""`pgproxy serve`: start the proxy from the configuration, the environment and flags."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import ssl
import sys

from pgproxy import config as config_mod
from pgproxy import errors, settings, worker
from pgproxy.admin import Admin
from pgproxy.cache import CacheOptions, QueryCache, warm
from pgproxy.cache.shared import SharedLog
from pgproxy.federation import stage as federation
from pgproxy.flight import FlightEndpoint
from pgproxy.flight import missing as flight_missing
from pgproxy.health import HealthChecker, HealthOptions
from pgproxy.observers import Observers, Watch
from pgproxy.proxy import Proxy
from pgproxy.router import Router
from pgproxy.supervisor import Supervisor, WorkerSetup, single_process_reason
from pgproxy.telemetry import Telemetry
from pgproxy.wire.server import WireServer

log = logging.getLogger("pgproxy")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pgproxy", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the proxy")
    serve.add_argument("--config", help="pgproxy.toml (or PGPROXY_CONFIG)")
    serve.add_argument(
        "--listen",
        action="append",
        help=f"host:port to listen on, repeatable (default {config_mod.DEFAULT_LISTEN})",
    )
    serve.add_argument(
        "--backend", help=f"default backend URL (default {config_mod.DEFAULT_BACKEND})"
    )
    serve.add_argument("--log-level", help="debug, info, warning, error")
    serve.add_argument(
        "--flight", help="host:port for the Arrow Flight SQL endpoint (needs pgproxy[flight])"
    )
    serve.add_argument(
        "--workers",
        help="processes sharing the listening ports, or auto (default: auto, one per core)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        cfg = config_mod.load(
            args.config, listen=args.listen, backend=args.backend, log_level=args.log_level,
            flight=args.flight, workers=args.workers,
        )
    except (OSError, ValueError) as exc:  # a missing file, a TOML syntax error
        print(f"pgproxy: cannot read the configuration: {exc}", file=sys.stderr)
        return 2
    if cfg.flight and (why := flight_missing()) is not None:
        print(f"pgproxy: {why}", file=sys.stderr)
        return 2
    logging.basicConfig(level=cfg.log_level.upper(), format=_LOG_FORMAT.format(worker=""))
    for warning in cfg.warnings:
        log.warning("%s", warning)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        log.info("uvloop is not installed; using the default asyncio event loop")
    if cfg.workers > 1 and (why := single_process_reason(cfg)):
        log.info("one worker process: %s", why)
        cfg.workers = 1
    if cfg.workers > 1:
        return Supervisor(cfg, lambda setup: _run(cfg, setup)).run()
    return _run(cfg, None)


_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s{worker}: %(message)s"


# The collector's thresholds (young, middle, old). A statement's garbage is freed by
# reference counting as it goes; cycles are rare. Every old-generation collection walks
# every live object, the query cache's entries and memos included (millions at 100k
# entries), stalling the loop for a fifth of a second: at CPython's default 700 young
# objects they came every second or two while a cache filled, and cost a third of the
# worker's time. Rarer young collections make the old ones rare too.
GC_THRESHOLDS = (50_000, 20, 100)


def _run(cfg: config_mod.Config, setup: WorkerSetup | None) -> int:
    """Serve until told to stop (the one process, or one worker of several)."""
    gc.set_threshold(*GC_THRESHOLDS)
    if setup is not None:
        formatter = logging.Formatter(_LOG_FORMAT.format(worker=f"[worker {setup.worker}]"))
        for handler in logging.getLogger().handlers:
            handler.setFormatter(formatter)
    try:
        asyncio.run(serve(cfg, setup=setup))
    except KeyboardInterrupt:
        pass
    except (ValueError, ImportError, OSError, errors.PgError) as exc:
        # A configuration the proxy cannot start with: say what, without a traceback.
        log.error("cannot start: %s", exc)
        return 2
    return 0


async def serve(
    cfg: config_mod.Config,
    ready: asyncio.Event | None = None,
    setup: WorkerSetup | None = None,
) -> None:
    """Serve `cfg`; with `setup`, as one of several worker processes."""
    if cfg.server_version is not None:
        settings.set_server_version(str(cfg.server_version))
    # A backend that fails to open (say, a path that is no Dolt directory) is
    # logged and retried when a client reaches it; the others serve meanwhile.
    router = Router.open(cfg.backends, cfg.routes)
    for name, backend in router.members().items():
        log.info("backend %s: %s", name, backend.redacted_url())
    proxy = Proxy(router, workers=cfg.threads, cache_size=cfg.cache_size, pool=cfg.pool)
    # Queries naming tables of several routes (DuckDB when the analytics extra is there).
    federation.install(proxy.pipeline, proxy.router, cfg.federation)
    # Optional stages, each from its own config section: query cache, observers,
    # telemetry, admin console.
    cache_options = CacheOptions.from_section(cfg.query_cache)
    if cache_options.enabled:
        proxy.pipeline.cache = QueryCache(cache_options, per_user=bool(cfg.users))
        if setup is not None:  # before warming: its fills must hear the others' writes
            proxy.pipeline.cache.store.shared = SharedLog(setup.rundir, setup.worker)
    observers = Observers.from_config(cfg.observers)
    telemetry = Telemetry.from_config(cfg.telemetry)
    if telemetry is not None:
        telemetry.instrument(proxy.pipeline.hooks)
    if cache_options.warm_file:
        log.info("cache warmed with %d statements", await warm(proxy, cache_options))
    proxy.watch = Watch.build(observers, telemetry)
    proxy.admin = Admin(proxy, cfg.admin, users_configured=bool(cfg.users), observers=observers)
    if observers is not None:
        await observers.start()
    health_options = HealthOptions.from_section(cfg.health)
    if health_options.enabled:

        def changed(name: str, up: bool, detail: str) -> None:
            proxy.member_state(name, up, detail)
            if proxy.watch is not None:
                proxy.watch.backend(name, up, detail)

        proxy.health = HealthChecker(proxy.router.members, health_options, changed,
                                     lag=proxy.lag_members, on_lag=proxy.member_lag)
        proxy.health.start()
    server = WireServer(
        proxy,
        users=cfg.users,
        auth_method=cfg.auth,
        allow_remote_trust=cfg.allow_remote_trust,
        ssl_context=_ssl_context(cfg),
        tls_cert=cfg.tls_cert,
        require_tls=cfg.require_tls,
        authentication_timeout=cfg.authentication_timeout,
        max_client_conn=cfg.max_client_conn,
        worker=setup.worker if setup is not None else 0,
    )
    flight = None
    # One Flight endpoint, in the first worker: its bearer tokens and prepared statements
    # live in that process, and gRPC would let every worker bind the port. It starts before
    # the worker says it is ready, so a port in use stops the start (exit status 2).
    if cfg.flight and (setup is None or setup.worker == 0):
        host, port = config_mod.split_listen(cfg.flight)
        flight = FlightEndpoint(
            proxy, host, port, users=cfg.users, auth_method=cfg.auth,
            allow_remote_trust=cfg.allow_remote_trust, tls_cert=cfg.tls_cert, tls_key=cfg.tls_key,
        )
        log.info("Flight SQL on %s://%s:%d", "grpc+tls" if flight.tls else "grpc", host,
                 flight.port)
    peers = None
    if setup is None:
        for address in cfg.listen:
            host, port = config_mod.split_listen(address)
            for bound_host, bound_port in await server.listen(host, port):
                log.info("listening on %s:%d", bound_host, bound_port)
    else:
        peers = await worker.join(proxy, server, setup)
        for host, port in setup.addresses:  # the supervisor resolved them and holds the ports
            for bound_host, bound_port in await server.listen(host, port, reuse_port=True):
                log.info("listening on %s:%d", bound_host, bound_port)
        setup.ready()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Event loops without signal support (Windows, a loop outside the main
        # thread as in embedded use) stop through KeyboardInterrupt instead.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        if flight is not None:
            await flight.close()
        await server.close()
        if peers is not None:
            await peers.close()
        if proxy.health is not None:
            await proxy.health.stop()
        if observers is not None:
            await observers.stop()
        if telemetry is not None:
            telemetry.shutdown()
        proxy.close()


def _ssl_context(cfg: config_mod.Config) -> ssl.SSLContext | None:
    if not cfg.tls_cert:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cfg.tls_cert, cfg.tls_key)
    return context


if __name__ == "__main__":
    sys.exit(main())
