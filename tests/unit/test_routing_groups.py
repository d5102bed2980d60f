"""Route groups: which member a read goes to, bans, lag, and the [routes] configuration."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from pgproxy import config
from pgproxy.backends.sqlite import SQLiteBackend
from pgproxy.routing.groups import Member, RouteConfig, RouteGroup, RouteOptions
from pgproxy.routing.router import Router


def _group(tmp_path: Path, replicas: int = 2, **opts: Any) -> RouteGroup:
    names = ["shop", *(f"shop.replica{i}" for i in range(1, replicas + 1))]
    members = [Member(n, SQLiteBackend(f"sqlite:///{tmp_path / n}.db"),
                      "primary" if i == 0 else "replica", "shop")
               for i, n in enumerate(names)]
    events: list[tuple[str, dict[str, Any]]] = []
    group = RouteGroup("shop", members[0], members[1:], RouteOptions(**opts))
    group.on_event = lambda kind, payload: events.append((kind, payload))
    group.events = events  # type: ignore[attr-defined]
    return group


def _reads(group: RouteGroup, n: int = 60) -> Counter[str]:
    return Counter(group.pick_read().name for _ in range(n))


def test_exclude_primary_round_robins_over_the_replicas(tmp_path: Path) -> None:
    group = _group(tmp_path, read_write_split="exclude_primary")
    assert _reads(group) == {"shop.replica1": 30, "shop.replica2": 30}


def test_include_primary_reads_from_every_member(tmp_path: Path) -> None:
    group = _group(tmp_path, read_write_split="include_primary")
    assert _reads(group) == {"shop": 20, "shop.replica1": 20, "shop.replica2": 20}


def test_prefer_primary_uses_replicas_only_when_the_primary_is_down(tmp_path: Path) -> None:
    group = _group(tmp_path, read_write_split="prefer_primary")
    assert set(_reads(group)) == {"shop"}
    group.primary.down = True
    assert set(_reads(group)) == {"shop.replica1", "shop.replica2"}


def test_least_active_picks_the_member_with_fewest_lent_connections(tmp_path: Path) -> None:
    group = _group(tmp_path, read_write_split="exclude_primary", load_balance="least_active")
    busy = {"shop.replica1": 5, "shop.replica2": 1}
    group.active = lambda m: busy.get(m.name, 0)
    assert set(_reads(group, 10)) == {"shop.replica2"}


def test_random_spreads_reads(tmp_path: Path) -> None:
    group = _group(tmp_path, read_write_split="exclude_primary", load_balance="random")
    assert set(_reads(group, 200)) == {"shop.replica1", "shop.replica2"}


def test_a_banned_replica_serves_no_reads_and_all_banned_are_unbanned(tmp_path: Path) -> None:
    group = _group(tmp_path, read_write_split="exclude_primary", ban_time=30)
    r1, r2 = group.replicas
    group.ban(r1, "connection refused")
    assert set(_reads(group)) == {"shop.replica2"}
    assert r1.bans == 1 and group.events[-1][0] == "ban"  # type: ignore[attr-defined]
    group.ban(r2, "connection refused")  # every replica banned: all come back
    assert set(_reads(group)) == {"shop.replica1", "shop.replica2"}
    assert [k for k, _ in group.events] == ["ban", "ban", "unban", "unban"]  # type: ignore[attr-defined]


def test_the_primary_is_never_banned(tmp_path: Path) -> None:
    group = _group(tmp_path)
    group.ban(group.primary, "refused")
    assert group.primary.bans == 0 and not group.primary.banned_until


def test_a_failed_read_moves_to_another_member(tmp_path: Path) -> None:
    group = _group(tmp_path, replicas=1, read_write_split="include_primary")
    r1 = group.replicas[0]
    assert group.pick_read(frozenset({r1})) is group.primary
    group.failover(r1, group.primary, "refused")
    assert group.primary.retries == 1
    assert group.events[-1] == ("failover", {"route": "shop", "from": "shop.replica1",  # type: ignore[attr-defined]
                                             "to": "shop", "reason": "refused"})


def test_a_lagging_or_unreplicating_replica_serves_no_reads(tmp_path: Path) -> None:
    group = _group(tmp_path, read_write_split="exclude_primary", max_replica_lag=5)
    r1, r2 = group.replicas
    r1.lag, r2.lag = 1.0, 12.0
    assert set(_reads(group)) == {"shop.replica1"}
    r1.lag = None  # not replicating
    assert set(_reads(group)) == {"shop"}  # no replica can answer: the primary reads
    r2.lag = 0.0
    assert set(_reads(group)) == {"shop.replica2"}


def test_latency_percentiles(tmp_path: Path) -> None:
    member = _group(tmp_path).primary
    assert member.percentile(0.5) is None
    for ms in range(1, 101):
        member.record(ms / 1000, ok=ms != 50)
    assert member.percentile(0.5) == 51.0 and member.percentile(0.99) == 100.0
    assert (member.queries, member.errors) == (100, 1)


def test_routes_config_and_a_mixed_route_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pgproxy.toml"
    path.write_text(
        '[routes.shop]\nprimary = "mysql://app@db1:3306/shop"\n'
        'replicas = ["mysql://app@db2:3306/shop", "mariadb://app@db3:3306/shop"]\n'
        'read_write_split = "exclude_primary"\nload_balance = "least_active"\n'
        "sticky_after_write = 2.0\nban_time = 30\nmax_replica_lag = 5\n"
        "[pool]\npool_size = 20\npool_mode = \"transaction\"\n[pool.shop]\npool_size = 5\n"
    )
    cfg = config.load(str(path), env={})
    route = cfg.routes["shop"]
    assert cfg.backends == {}
    assert route.replicas == ("mysql://app@db2:3306/shop", "mariadb://app@db3:3306/shop")
    assert route.options == RouteOptions("exclude_primary", "least_active", 2.0, 30.0, 5.0)
    assert cfg.pool["shop"] == {"pool_size": 5}
    with pytest.raises(ValueError, match="same kind of backend"):
        RouteConfig.from_section("mix", {"primary": "mysql://a@h/db",
                                         "replicas": ["sqlite:///tmp/x.db"]})
    with pytest.raises(ValueError, match="read_write_split"):
        RouteConfig.from_section("x", {"primary": "mysql://a@h/db", "read_write_split": "all"})
    with pytest.raises(ValueError, match="needs primary"):
        RouteConfig.from_section("x", {"replicas": []})


def test_backends_entries_are_one_member_routes(tmp_path: Path) -> None:
    app = SQLiteBackend(f"sqlite:///{tmp_path / 'app.db'}")
    router = Router({"app": app})
    route = router.resolve("app")
    assert route.group is not None and route.group.primary.backend is app
    assert route.group.replicas == [] and router.members() == {"app": app}
