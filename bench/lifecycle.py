"""End-to-end throughput of the claim lifecycle over HTTP, against a real server.

Creates a throwaway PostgreSQL database, migrates and seeds it with the demo
company, starts ``baoxiao serve`` as a subprocess with production settings,
and drives claims through create (3 lines) -> submit -> manager approve ->
finance approve -> mark paid from K concurrent clients (one thread and one
keep-alive ``httpx.Client`` each). Then runs pgbench (TPC-B-like) into a
second throwaway database on the same PostgreSQL server, as a baseline of
what the database and this machine can do. Both databases are dropped and
the server is stopped at the end, also on error.

    .venv/bin/python bench/lifecycle.py [--claims N] [--clients K] [--workers W]
                                        [--database-url URL]

Everything runs on the loopback interface only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx
from sqlalchemy import URL, Engine, create_engine, make_url, text
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from baoxiao.demo.seed import DEMO_PASSWORD, PEOPLE
from sqlcount import count_lifecycles

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
API = "/api/v1"
# Claimants with different managers, so manager approvals spread over five inboxes.
CLAIMANTS = (
    "li.na",
    "zhang.wei",
    "wu.hao",
    "xu.jing",
    "guo.mei",
    "he.jun",
    "liang.yi",
    "song.jia",
    "feng.yan",
    "cao.ying",
)
FINANCE = ("zhao.min", "sun.li")  # one approves, the other pays; they alternate per claim
CALLS = (
    "create",
    "submit",
    "lookup_manager",
    "approve_manager",
    "lookup_finance",
    "approve_finance",
    "pay",
)
WRITE_CALLS = 5  # create, submit, two approvals, pay; the two lookups only read
READY_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 30.0
NOISY_OTHER_CORES = 0.35  # the kernel and idle daemons use ~0.2 here; more is another load
MAX_CLIENTS = 64  # the finance inbox lists 100 tasks, oldest first; in-flight claims must fit
PGBENCH_TPS = re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)", re.M)


class BenchError(Exception):
    """A one-line reason to stop the benchmark."""


# ---- settings and machine -------------------------------------------------


@dataclass(frozen=True)
class Options:
    claims: int
    warmup: int
    clients: int
    workers: int
    database_url: URL
    pgbench_scale: int
    pgbench_clients: int
    pgbench_threads: int
    pgbench_seconds: int
    time_limit: float
    count_statements: int


def parse_args(argv: Sequence[str] | None = None) -> Options:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--claims", type=int, default=400, help="lifecycles in the timed phase")
    p.add_argument("--warmup", type=int, default=20, help="lifecycles run first, not timed")
    p.add_argument("--clients", type=int, default=8, help="concurrent clients (threads)")
    p.add_argument("--workers", type=int, default=2, help="BAOXIAO_WORKERS of the server")
    p.add_argument(
        "--database-url",
        default=DEFAULT_URL,
        help="PostgreSQL server to use (its database part is ignored)",
    )
    p.add_argument("--pgbench-scale", type=int, default=10)
    p.add_argument("--pgbench-clients", type=int, default=8)
    p.add_argument("--pgbench-threads", type=int, default=2)
    p.add_argument("--pgbench-seconds", type=int, default=20, help="0 skips pgbench")
    p.add_argument(
        "--time-limit",
        type=float,
        default=900.0,
        help="seconds after which the lifecycle phases give up",
    )
    p.add_argument(
        "--count-statements",
        type=int,
        default=3,
        help="lifecycles run in-process afterwards to count SQL statements per call (0 skips)",
    )
    a = p.parse_args(argv)
    if not (1 <= a.clients <= MAX_CLIENTS):
        p.error(f"--clients must be 1..{MAX_CLIENTS}")
    if a.claims < 1 or a.warmup < 0 or a.workers < 1 or a.pgbench_seconds < 0:
        p.error("--claims and --workers must be positive, --warmup and --pgbench-seconds >= 0")
    try:
        url = make_url(a.database_url)
    except ArgumentError:
        p.error(f"not a database URL: {a.database_url!r}")
    if url.get_backend_name() != "postgresql":
        p.error("--database-url must be a PostgreSQL URL")
    if (url.host or "127.0.0.1") not in LOOPBACK:
        p.error("--database-url must point at the loopback interface")
    return Options(
        a.claims,
        a.warmup,
        a.clients,
        a.workers,
        url.set(drivername="postgresql+psycopg"),
        a.pgbench_scale,
        a.pgbench_clients,
        a.pgbench_threads,
        a.pgbench_seconds,
        a.time_limit,
        max(0, a.count_statements),
    )


def machine_summary() -> list[str]:
    cpu = "?"
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return [
        f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs ({cpu}), "
        f"{mem_gib:.0f} GiB RAM, Python {platform.python_version()}"
    ]


# ---- PostgreSQL -------------------------------------------------------------


@contextmanager
def throwaway_database(server: URL, prefix: str) -> Iterator[URL]:
    """A new empty database on the server, dropped on the way out."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield server.set(database=name)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def check_postgresql(server: URL) -> str:
    """The server's version, or BenchError when there is no usable PostgreSQL."""
    if shutil.which("pgbench") is None:
        raise BenchError("PostgreSQL client tools missing: no pgbench on PATH")
    engine = create_engine(server.set(database="postgres"))
    try:
        with engine.connect() as conn:
            return str(conn.scalar(text("SHOW server_version")))
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise BenchError(
            f"PostgreSQL not reachable at {server.host}:{server.port or 5432} ({reason})"
        ) from None
    finally:
        engine.dispose()


def libpq_env(url: URL) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PGHOST=url.host or "127.0.0.1",
        PGPORT=str(url.port or 5432),
        PGUSER=url.username or "postgres",
        PGDATABASE=url.database or "postgres",
    )
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return env


@dataclass(frozen=True)
class PgbenchResult:
    tps: float
    command: str


def run_pgbench(server: URL, opts: Options) -> PgbenchResult:
    with throwaway_database(server, "bx_pgbench") as url:
        env = libpq_env(url)
        init = ["pgbench", "-i", "-q", "-s", str(opts.pgbench_scale)]
        subprocess.run(init, env=env, check=True, capture_output=True, timeout=600)
        cmd = [
            "pgbench",
            "-c",
            str(opts.pgbench_clients),
            "-j",
            str(opts.pgbench_threads),
            "-T",
            str(opts.pgbench_seconds),
        ]
        out = subprocess.run(
            cmd,
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=opts.pgbench_seconds + 120,
        ).stdout
    match = PGBENCH_TPS.search(out)
    if match is None:
        raise BenchError("could not read the TPS from pgbench's output")
    return PgbenchResult(float(match.group(1)), " ".join([*init[:2], *init[3:], "&&", *cmd]))


class PgSampler:
    """Samples pg_stat_activity of the bench database: what its backends are doing."""

    def __init__(self, engine: Engine, database: str, interval: float = 0.1) -> None:
        self.engine, self.database, self.interval = engine, database, interval
        self.samples = 0
        self.totals = {"active": 0, "lock_wait": 0, "idle_in_tx": 0}
        self.waits: dict[str, int] = {}  # lock waits by the waiting statement's first words
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pg-sampler", daemon=True)

    def _run(self) -> None:
        query = text(
            "SELECT count(*) FILTER (WHERE state = 'active'),"
            "       count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'Lock'),"
            "       count(*) FILTER (WHERE state LIKE 'idle in transaction%') "
            "FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()"
        )
        waiting_query = text(
            "SELECT query FROM pg_stat_activity WHERE datname = :db AND state = 'active' "
            "AND wait_event_type = 'Lock'"
        )
        with self.engine.connect() as conn:
            while not self._stop.wait(self.interval):
                active, lock_wait, idle_tx = conn.execute(query, {"db": self.database}).one()
                if lock_wait:
                    for (waiting,) in conn.execute(waiting_query, {"db": self.database}):
                        key = " ".join(str(waiting).split()[:4])[:60]
                        self.waits[key] = self.waits.get(key, 0) + 1
                conn.rollback()
                self.samples += 1
                self.totals["active"] += active
                self.totals["lock_wait"] += lock_wait
                self.totals["idle_in_tx"] += idle_tx

    def __enter__(self) -> PgSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def mean(self, key: str) -> float:
        return self.totals[key] / self.samples if self.samples else 0.0

    def waits_summary(self) -> str:
        if not self.samples or not self.waits:
            return "none"
        ranked = sorted(self.waits.items(), key=lambda kv: -kv[1])[:4]
        return ", ".join(f"{n / self.samples:.2f} on {q!r}" for q, n in ranked)


def commits(engine: Engine, database: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.scalar(
                text("SELECT xact_commit FROM pg_stat_database WHERE datname = :db"),
                {"db": database},
            )
            or 0
        )


# ---- CPU accounting (Linux /proc; zeros elsewhere) ----------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_table() -> dict[int, tuple[str, int, float]]:
    """pid -> (command name, parent pid, CPU seconds used) for every visible process."""
    table: dict[int, tuple[str, int, float]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        table[int(entry.name)] = (
            comm,
            int(fields[1]),
            (int(fields[11]) + int(fields[12])) / CLK_TCK,
        )
    return table


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])
    return (total - idle) / CLK_TCK, total / CLK_TCK


def _backends_of(table: dict[int, tuple[str, int, float]], database: str) -> dict[int, float]:
    """CPU seconds of the PostgreSQL backends serving `database` (found by their process title)."""
    found: dict[int, float] = {}
    for pid, (comm, _ppid, cpu) in table.items():
        if comm.startswith("postgres"):
            with suppress(OSError):
                title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                if f" {database} " in title:
                    found[pid] = cpu
    return found


@dataclass
class CpuSnapshot:
    at: float
    client: float
    server: dict[int, float]
    postgres: dict[int, float]
    machine_busy: float


def cpu_snapshot(server_pid: int, database: str) -> CpuSnapshot:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    snap = CpuSnapshot(time.perf_counter(), usage.ru_utime + usage.ru_stime, {}, {}, 0.0)
    if not Path("/proc/stat").exists():
        return snap
    table = _proc_table()
    tree = {server_pid}
    grew = True
    while grew:
        grew = False
        for pid, (_comm, ppid, _cpu) in table.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                grew = True
    snap.server = {pid: table[pid][2] for pid in tree if pid in table}
    snap.postgres = _backends_of(table, database)
    snap.machine_busy = _machine_busy()[0]
    return snap


def _delta(before: dict[int, float], after: dict[int, float]) -> list[float]:
    """CPU seconds per process between two snapshots (new processes count from zero)."""
    return [cpu - before.get(pid, 0.0) for pid, cpu in after.items()]


def cpu_report(before: CpuSnapshot, after: CpuSnapshot, lifecycles: int) -> list[str]:
    wall = after.at - before.at
    if wall <= 0 or not after.server or lifecycles <= 0:
        return []
    workers = sorted(_delta(before.server, after.server), reverse=True)
    server = sum(workers)
    client = after.client - before.client
    postgres = sum(_delta(before.postgres, after.postgres))
    busy = after.machine_busy - before.machine_busy
    other = max(0.0, busy - server - client - postgres)
    per_process = " + ".join(f"{w / wall:.2f}" for w in workers if w / wall >= 0.005)
    lines = [
        f"CPU, cores busy (of {os.cpu_count()}): machine {busy / wall:.2f} = server "
        f"{server / wall:.2f} ({per_process}) + postgres backends {postgres / wall:.2f} + "
        f"bench client {client / wall:.2f} + other {other / wall:.2f}",
        f"CPU per lifecycle:      server {1000 * server / lifecycles:.1f} ms, postgres backends "
        f"{1000 * postgres / lifecycles:.1f} ms, bench client {1000 * client / lifecycles:.1f} ms",
    ]
    if other / wall > NOISY_OTHER_CORES:
        lines.append(
            f"warning: other processes and the kernel used {other / wall:.2f} cores during the "
            "timed phase; the throughput is lower than on a quiet machine"
        )
    return lines


# ---- the baoxiao server --------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def baoxiao_command() -> str:
    beside = Path(sys.executable).with_name("baoxiao")
    found = str(beside) if beside.exists() else shutil.which("baoxiao")
    if found is None:
        raise BenchError("the `baoxiao` command is not installed in this environment")
    return found


@dataclass
class Server:
    env: dict[str, str]
    var_dir: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.var_dir / "server.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [baoxiao_command(), *args],
            env=self.env,
            cwd=self.var_dir,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise BenchError(f"`baoxiao {' '.join(args)}` failed: {tail[0]}")
        return done.stdout

    def start(self) -> None:
        log = self.log_path.open("wb")
        # A session of its own, so the uvicorn supervisor and its workers stop together.
        self.process = subprocess.Popen(
            [baoxiao_command(), "serve"],
            env=self.env,
            cwd=self.var_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        with httpx.Client(base_url=self.base_url, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise BenchError(
                        f"the server exited with {self.process.returncode}: {self.log_tail()}"
                    )
                with suppress(httpx.TransportError):
                    if client.get("/readyz").status_code == 200:
                        return
                time.sleep(0.1)
        raise BenchError(f"the server was not ready within {READY_TIMEOUT_S:.0f} s")

    def log_tail(self) -> str:
        with suppress(OSError):
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
            if lines:
                return lines[-1][:300]
        return "no output"

    def stop(self) -> None:
        """SIGTERM to the server's process group, SIGKILL if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        pgid = self.process.pid  # start_new_session: the group id is the server's pid
        with suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            self.process.wait(timeout=5)
        with suppress(ProcessLookupError):  # stray workers whose supervisor died first
            os.killpg(pgid, signal.SIGKILL)


def server_env(db_url: URL, var_dir: Path, port: int, workers: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAOXIAO_")}
    env.update(
        BAOXIAO_DATABASE_URL=db_url.render_as_string(hide_password=False),
        BAOXIAO_VAR_DIR=str(var_dir),
        BAOXIAO_HOST="127.0.0.1",
        BAOXIAO_PORT=str(port),
        BAOXIAO_WORKERS=str(workers),
        BAOXIAO_LOG_LEVEL="WARNING",
    )
    return env


# ---- the load ------------------------------------------------------------------


def manager_of() -> dict[str, str]:
    return {username: manager for username, _n, _g, _d, manager, _r in PEOPLE if manager}


def login_all(base_url: str, usernames: Sequence[str]) -> dict[str, dict[str, str]]:
    """One login per user; returns ready-made request headers with its bearer token."""
    headers: dict[str, dict[str, str]] = {}
    with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_S) as client:
        for name in usernames:
            r = client.post(f"{API}/auth/token", json={"username": name, "password": DEMO_PASSWORD})
            if r.status_code != 201:
                raise BenchError(f"login of {name} failed with {r.status_code}: {r.text[:200]}")
            headers[name] = {"authorization": f"Bearer {r.json()['access_token']}"}
    return headers


def create_body(claimant: str) -> bytes:
    lines = [
        {"category_code": "TAXI", "expense_date": "2026-11-01", "amount": "12.30"},
        {"category_code": "HOTEL", "expense_date": "2026-11-01", "amount": "480.00"},
        {"category_code": "MEAL", "expense_date": "2026-11-02", "amount": "65.50"},
    ]
    return json.dumps({"reason": f"bench trip ({claimant})", "lines": lines}).encode()


@dataclass(frozen=True)
class Plan:
    """Everything a client needs, computed before the clock starts."""

    claimant: str
    manager: str
    finance_approver: str
    payer: str


class Load:
    """Hands out lifecycle numbers to the client threads and collects their timings."""

    def __init__(self, base_url: str, headers: dict[str, dict[str, str]]) -> None:
        self.base_url = base_url
        self.headers = {
            name: {**h, "content-type": "application/json"} for name, h in headers.items()
        }
        managers, n = manager_of(), len(CLAIMANTS)
        # Every claimant once with each finance user approving (the other one pays).
        self.plans = [
            Plan(
                CLAIMANTS[i % n],
                managers[CLAIMANTS[i % n]],
                FINANCE[(i // n) % 2],
                FINANCE[(i // n + 1) % 2],
            )
            for i in range(2 * n)
        ]
        self.bodies = {c: create_body(c) for c in CLAIMANTS}
        self.failure: str | None = None
        self._lock = threading.Lock()
        self._next = 0
        self._end = 0
        self._deadline = 0.0

    def run(
        self, count: int, clients: int, deadline: float
    ) -> tuple[dict[str, list[float]], float, int]:
        """Run `count` lifecycles on `clients` threads: (latencies per call, wall s, done)."""
        self._next, self._end, self._deadline = self._end, self._end + count, deadline
        results: list[dict[str, list[float]]] = [
            {call: [] for call in CALLS} for _ in range(clients)
        ]
        done = [0] * clients
        threads = [
            threading.Thread(target=self._client, args=(results[i], done, i), name=f"client-{i}")
            for i in range(clients)
        ]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
        merged: dict[str, list[float]] = {call: [] for call in CALLS}
        for r in results:
            for call, values in r.items():
                merged[call].extend(values)
        return merged, wall, sum(done)

    def _take(self) -> int | None:
        with self._lock:
            if (
                self.failure is not None
                or self._next >= self._end
                or time.monotonic() > self._deadline
            ):
                return None
            index = self._next
            self._next += 1
            return index

    def _client(self, timings: dict[str, list[float]], done: list[int], slot: int) -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        with httpx.Client(
            base_url=self.base_url, timeout=REQUEST_TIMEOUT_S, limits=limits
        ) as client:
            while (index := self._take()) is not None:
                try:
                    self.lifecycle(client, self.plans[index % len(self.plans)], timings)
                except Exception as exc:  # any failure stops the whole run
                    with self._lock:
                        self.failure = self.failure or f"lifecycle {index}: {exc}"
                    return
                done[slot] += 1

    def _call(
        self,
        client: httpx.Client,
        timings: dict[str, list[float]],
        call: str,
        method: str,
        path: str,
        user: str,
        expected: int,
        body: bytes | None = None,
    ) -> httpx.Response:
        t0 = time.perf_counter()
        r = client.request(method, path, content=body, headers=self.headers[user])
        timings[call].append(time.perf_counter() - t0)
        if r.status_code != expected:
            raise BenchError(f"{call} as {user}: {method} {path} -> {r.status_code} {r.text[:200]}")
        return r

    def _task_of(
        self,
        client: httpx.Client,
        timings: dict[str, list[float]],
        call: str,
        user: str,
        claim_id: str,
    ) -> str:
        # The approver's whole pending inbox: it holds the claims in flight, so at most about
        # --clients items (plus a few seeded ones); one more call per approval, timed on its own.
        r = self._call(client, timings, call, "GET", f"{API}/approval-tasks", user, 200)
        for task in r.json():
            if task["claim_id"] == claim_id:
                return str(task["id"])
        raise BenchError(f"{call}: no pending task of {user} for claim {claim_id}")

    def lifecycle(self, client: httpx.Client, plan: Plan, timings: dict[str, list[float]]) -> None:
        r = self._call(
            client,
            timings,
            "create",
            "POST",
            f"{API}/claims",
            plan.claimant,
            201,
            self.bodies[plan.claimant],
        )
        claim_id = r.headers["location"].rsplit("/", 1)[1]
        self._call(
            client, timings, "submit", "POST", f"{API}/claims/{claim_id}/submit", plan.claimant, 200
        )
        task = self._task_of(client, timings, "lookup_manager", plan.manager, claim_id)
        self._call(
            client,
            timings,
            "approve_manager",
            "POST",
            f"{API}/approval-tasks/{task}/approve",
            plan.manager,
            200,
        )
        task = self._task_of(client, timings, "lookup_finance", plan.finance_approver, claim_id)
        self._call(
            client,
            timings,
            "approve_finance",
            "POST",
            f"{API}/approval-tasks/{task}/approve",
            plan.finance_approver,
            200,
        )
        self._call(
            client, timings, "pay", "POST", f"{API}/claims/{claim_id}/mark-paid", plan.payer, 201
        )


# ---- report ---------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks; q in [0, 100]."""
    if not sorted_values:
        return float("nan")
    pos = (len(sorted_values) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def latency_table(timings: dict[str, list[float]]) -> list[str]:
    rows = [
        f"{'call':<16}{'n':>6}{'mean ms':>10}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}"
        f"{'max ms':>10}"
    ]
    every: list[float] = []
    for call in CALLS:
        values = sorted(timings[call])
        every.extend(values)
        rows.append(_row(call, values))
    rows.append(_row("all calls", sorted(every)))
    return rows


def _row(name: str, values: Sequence[float]) -> str:
    if not values:
        return f"{name:<16}{0:>6}"
    ms = [v * 1000 for v in values]
    return (
        f"{name:<16}{len(ms):>6}{sum(ms) / len(ms):>10.1f}{percentile(ms, 50):>10.1f}"
        f"{percentile(ms, 90):>10.1f}{percentile(ms, 99):>10.1f}{ms[-1]:>10.1f}"
    )


# ---- main -----------------------------------------------------------------------


def _raise_on_term(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def run(opts: Options) -> int:
    version = check_postgresql(opts.database_url)
    out = print
    out(f"machine:    {machine_summary()[0]}")
    out(f"postgresql: {version} at {opts.database_url.host}:{opts.database_url.port or 5432}")
    with (
        tempfile.TemporaryDirectory(prefix="bx-bench-") as tmp,
        throwaway_database(opts.database_url, "bx_bench") as db_url,
    ):
        port = free_port()
        server = Server(server_env(db_url, Path(tmp), port, opts.workers), Path(tmp), port)
        server.cli("migrate")
        server.cli("demo", "--no-serve")
        server.start()
        try:
            server.wait_ready()
            assert server.process is not None
            out(
                f"server:     baoxiao serve, {opts.workers} workers, log level WARNING, "
                f"{server.base_url}, database {db_url.database}"
            )
            managers = manager_of()
            users = sorted({*CLAIMANTS, *(managers[c] for c in CLAIMANTS), *FINANCE})
            load = Load(server.base_url, login_all(server.base_url, users))
            deadline = time.monotonic() + opts.time_limit
            if opts.warmup:
                _, _, warmed = load.run(opts.warmup, opts.clients, deadline)
                if load.failure:
                    raise BenchError(f"warm-up failed: {load.failure}")
                out(f"warm-up:    {warmed} lifecycles, not counted")
            engine = create_engine(db_url, pool_size=2)
            try:
                commits_before = commits(engine, str(db_url.database))
                cpu_before = cpu_snapshot(server.process.pid, str(db_url.database))
                with PgSampler(engine, str(db_url.database)) as sampler:
                    timings, wall, completed = load.run(opts.claims, opts.clients, deadline)
                cpu_after = cpu_snapshot(server.process.pid, str(db_url.database))
                commits_after = commits(engine, str(db_url.database))
                if load.failure:
                    raise BenchError(f"timed phase failed: {load.failure}")
                if completed < opts.claims:
                    raise BenchError(
                        f"time limit reached after {completed} of {opts.claims} "
                        f"lifecycles ({completed / wall:.1f}/s)"
                    )
                with engine.connect() as conn:
                    paid = conn.scalar(
                        text(
                            "SELECT count(*) FROM claims WHERE status = 'paid' "
                            "AND reason LIKE 'bench trip%'"
                        )
                    )
            finally:
                engine.dispose()
            if paid != opts.warmup + opts.claims:
                raise BenchError(
                    f"expected {opts.warmup + opts.claims} paid bench claims, found {paid}"
                )
            counts = (
                count_lifecycles(
                    db_url,
                    CALLS,
                    lambda client, i, timings: load.lifecycle(client, load.plans[i], timings),
                    opts.count_statements,
                )
                if opts.count_statements
                else None
            )
            audit_line = server.cli("audit", "verify").strip()
        finally:
            server.stop()
    lifecycles_per_s = completed / wall
    requests = sum(len(v) for v in timings.values())
    out("")
    out(f"timed phase: {completed} lifecycles from {opts.clients} clients in {wall:.2f} s")
    out("")
    for line in latency_table(timings):
        out("  " + line)
    out("")
    out(f"lifecycles/s:           {lifecycles_per_s:8.1f}")
    out(
        f"HTTP requests/s:        {requests / wall:8.1f}   ({requests // completed} per lifecycle, "
        f"{WRITE_CALLS} of them write)"
    )
    out(f"database commits/s:     {(commits_after - commits_before) / wall:8.1f}")
    out(
        f"postgres backends, mean of {sampler.samples} samples: "
        f"active {sampler.mean('active'):.2f}, "
        f"waiting on a lock {sampler.mean('lock_wait'):.2f}, "
        f"idle in transaction {sampler.mean('idle_in_tx'):.2f}"
    )
    out(f"lock waits by statement (mean backends): {sampler.waits_summary()}")
    for line in cpu_report(cpu_before, cpu_after, completed):
        out(line)
    if counts is not None:
        out(
            f"SQL statements per call (in-process, mean of {opts.count_statements} lifecycles; "
            "pool pings not counted):"
        )
        out(
            "  "
            + ", ".join(f"{c} {counts.statements[c]:.0f}" for c in CALLS)
            + f"; per lifecycle {sum(counts.statements.values()):.0f}, "
            f"commits {sum(counts.commits.values()):.0f}"
        )
    out(f"integrity:              {paid} bench claims paid; {audit_line}")
    if opts.pgbench_seconds:
        out("")
        out(
            f"pgbench (TPC-B-like, scale {opts.pgbench_scale}, {opts.pgbench_clients} clients, "
            f"{opts.pgbench_threads} threads, {opts.pgbench_seconds} s) ..."
        )
        pg = run_pgbench(opts.database_url, opts)
        out(f"pgbench TPS:            {pg.tps:8.1f}   ({pg.command})")
        out(
            f"lifecycles/s / pgbench TPS: {lifecycles_per_s / pg.tps:.4f}   "
            f"(write requests/s / TPS: {WRITE_CALLS * lifecycles_per_s / pg.tps:.3f})"
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_on_term)
    try:
        return run(opts)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as exc:
        detail = (
            (exc.stderr or b"").decode(errors="replace")
            if isinstance(exc.stderr, bytes)
            else str(exc.stderr or "")
        )
        print(
            f"error: {exc.cmd[0]} failed: {detail.strip().splitlines()[-1:] or exc}",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
