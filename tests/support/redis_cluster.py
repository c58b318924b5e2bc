"""A real Redis Cluster of the test session's own: three primaries and three replicas, each a
`redis-server --cluster-enabled yes` on spare ports in a directory of its own, joined by
`redis-cli --cluster create --cluster-replicas 1`. Never the machine's Redis.

Nothing is persisted (`--save "" --appendonly no`) and nodes time out after NODE_TIMEOUT_MS,
so a SIGKILLed primary is failed over to its replica in about a second instead of the default
fifteen. Each node's cluster bus gets a spare port of its own too (the default, port + 10000,
may lie beyond 65535 for a port from the ephemeral range).

No process outlives the session: `running_cluster` kills every node on the way out, and each
node is started with PR_SET_PDEATHSIG, so the kernel kills it if the test process dies first
(that signal follows the thread that started it: start the cluster from the main thread, as a
synchronous fixture does). Skips when `redis-server` or `redis-cli` is not installed.
"""

from __future__ import annotations

import ctypes
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from redis import Redis
from redis.crc import key_slot
from redis.exceptions import RedisError

from tests.support.ports import free_port

NODES = 6
NODE_TIMEOUT_MS = 1_000
_PR_SET_PDEATHSIG = 1


def redis_cluster_problem() -> str | None:
    missing = [tool for tool in ("redis-server", "redis-cli") if shutil.which(tool) is None]
    if missing:
        return f"{' and '.join(missing)} not installed (apt-get install redis-server)"
    return None


def _die_with_parent() -> None:  # runs in the child, between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


@dataclass
class Node:
    port: int
    bus_port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def client(self) -> Redis:
        return Redis(host="127.0.0.1", port=self.port, socket_timeout=2, decode_responses=True)


@dataclass
class LocalCluster:
    directory: Path
    nodes: list[Node] = field(default_factory=list)

    @property
    def url(self) -> str:
        """A node to start from: the clients find the others."""
        return f"redis://127.0.0.1:{self.nodes[0].port}"

    def start(self) -> None:
        ports = _distinct_ports(2 * NODES)
        self.nodes = [Node(ports[i], ports[NODES + i]) for i in range(NODES)]
        server = shutil.which("redis-server") or "redis-server"
        for node in self.nodes:
            options = ["--port", str(node.port), "--cluster-port", str(node.bus_port)]
            options += ["--bind", "127.0.0.1", "--dir", str(self.directory)]
            options += ["--cluster-enabled", "yes"]
            options += ["--cluster-config-file", f"nodes-{node.port}.conf"]
            options += ["--cluster-node-timeout", str(NODE_TIMEOUT_MS)]
            options += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
            # Replicas sync at once (the default waits 5 s for more replicas to share a sync).
            options += ["--repl-diskless-sync-delay", "0"]
            # A replica however far behind may take over (the failover test holds one back).
            options += ["--cluster-replica-validity-factor", "0"]
            with (self.directory / f"redis-{node.port}.log").open("wb") as log:
                node.process = subprocess.Popen(
                    [server, *options], stdout=log, stderr=subprocess.STDOUT,
                    preexec_fn=_die_with_parent,
                )  # fmt: skip
        for node in self.nodes:
            _until(lambda node=node: _answers(node), what=f"node {node.port} to listen")
        addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
        created = subprocess.run(
            ["redis-cli", "--cluster", "create", *addresses, "--cluster-replicas", "1",
             "--cluster-yes"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        if created.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed: {created.stdout[-2000:]}")
        _until(self._settled, what="the cluster to be ok with every replica in sync")

    def stop(self) -> None:
        for node in self.nodes:
            if node.process is not None:
                node.process.kill()  # a stopped process dies of SIGKILL too
        for node in self.nodes:
            if node.process is not None:
                node.process.wait(timeout=10)
                node.process = None

    def primary_of(self, key: str) -> Node:
        """The live node that serves `key`'s slot now."""
        slot = key_slot(key.encode())
        for node in self.nodes:
            if not node.alive:
                continue
            with node.client() as client:
                for start, end, primary, *_replicas in client.execute_command("CLUSTER SLOTS"):
                    if start <= slot <= end:
                        return next(n for n in self.nodes if n.port == int(primary[1]))
        raise LookupError(f"no live node knows slot {slot}")

    def replica_of(self, primary: Node) -> Node:
        for node in self.nodes:
            if node is primary or not node.alive:
                continue
            with node.client() as client:
                if client.info("replication").get("master_port") == primary.port:
                    return node
        raise LookupError(f"node {primary.port} has no live replica")

    def hold_back_replica(self, primary: Node) -> Node:
        """From now on nothing `primary` takes reaches its replica: the replica is stopped
        (SIGSTOP) and the primary drops its link to it, so what was sent before arrives and
        nothing after. `resume` lets it run again (it then cannot catch up with a dead
        primary: the writes in between are lost with it, as asynchronous replication allows)."""
        replica = self.replica_of(primary)
        assert replica.process is not None
        replica.process.send_signal(signal.SIGSTOP)
        with primary.client() as client:
            client.execute_command("CLIENT KILL TYPE replica")
        return replica

    def resume(self, node: Node) -> None:
        assert node.process is not None
        node.process.send_signal(signal.SIGCONT)

    def kill(self, node: Node) -> None:
        """SIGKILL: no shutdown; its replica takes over once the others see it gone."""
        assert node.process is not None
        node.process.kill()
        node.process.wait(timeout=10)

    def wait_failed_over(self, key: str, dead: Node, within: float = 15.0) -> Node:
        """The replica promoted in `dead`'s place, once every live node agrees the cluster
        is ok again."""

        def promoted() -> bool:
            try:
                return self.primary_of(key) is not dead and all(
                    _cluster_ok(node) for node in self.nodes if node.alive
                )
            except (RedisError, LookupError, OSError):
                return False

        _until(promoted, what=f"a replica to take over from node {dead.port}", within=within)
        return self.primary_of(key)

    def _settled(self) -> bool:
        for node in self.nodes:
            if not _cluster_ok(node):
                return False
            with node.client() as client:
                info = client.info("replication")
            if info["role"] == "slave" and info.get("master_link_status") != "up":
                return False
        return True


@contextmanager
def running_cluster() -> Iterator[LocalCluster]:
    problem = redis_cluster_problem()
    if problem is not None:
        pytest.skip(problem)
    directory = Path(tempfile.mkdtemp(prefix="shopcore-redis-cluster-"))
    cluster = LocalCluster(directory)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(directory, ignore_errors=True)


def _distinct_ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


def _answers(node: Node) -> bool:
    if not node.alive:
        raise RuntimeError(f"redis-server on port {node.port} exited")
    try:
        with node.client() as client:
            return bool(client.ping())
    except (RedisError, OSError):
        return False


def _cluster_ok(node: Node) -> bool:
    try:
        with node.client() as client:
            info = client.execute_command("CLUSTER INFO")
    except (RedisError, OSError):
        return False
    # redis-py parses the reply into a dict of str values.
    return info.get("cluster_state") == "ok" and int(info.get("cluster_known_nodes", 0)) == NODES


def _until(condition: object, *, what: str, within: float = 30.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {within} s for {what}")
        time.sleep(0.05)
