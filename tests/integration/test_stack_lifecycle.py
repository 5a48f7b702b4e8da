"""`feblam stack up/status/down` on a second stack (its own ports and var dir),
so the lifecycle is tested without disturbing the stack the other tests use."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from feblam.stack.process import port_open, processes
from feblam.stack.settings import PROJECT_ROOT

PORT_OPTIONS = ("kafka-port", "kafka-controller-port", "registry-port", "registry-management-port", "flink-rest-port",
                "flink-rpc-port", "zookeeper-port", "prometheus-port")


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _stack(var_dir: Path, *args: str) -> subprocess.CompletedProcess:
    # Without FEBLAM_*_PORT: `status` and `down` would take them over the second
    # stack's own ports (in its stack.json) and ask whatever stack runs there.
    env = {**{k: v for k, v in os.environ.items() if not (k.startswith("FEBLAM_") and k.endswith("_PORT"))},
           "FEBLAM_VAR_DIR": str(var_dir)}
    return subprocess.run([sys.executable, "-m", "feblam.cli", "stack", *args], capture_output=True, text=True,
                          env=env, cwd=PROJECT_ROOT, timeout=600)


def _process_group(pgid: int) -> list[int]:
    """Live processes of a group. Zombies are left out: they hold no port or memory and
    only wait for their parent (here whatever init the machine runs) to reap them."""
    return [pid for pid, state, group in processes() if group == pgid and state != "Z"]


def _listening_addresses(pids: list[int]) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket in LISTEN state owned by these processes."""
    inodes = set()
    for pid in pids:
        fd_dir = Path(f"/proc/{pid}/fd")
        try:
            for fd in fd_dir.iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A = LISTEN
                address, port = local.split(":")
                found.add((_decode_address(address), int(port, 16)))
    return found


def _decode_address(hex_address: str) -> str:
    raw = bytes.fromhex(hex_address)
    # /proc/net/tcp* stores each 32-bit word in host (little-endian) order.
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    if len(words) == 4:
        return socket.inet_ntop(socket.AF_INET, words)
    return socket.inet_ntop(socket.AF_INET6, words)


def _is_loopback(address: str) -> bool:
    return address.startswith("127.") or address in ("::1", "::ffff:127.0.0.1") or address.startswith("::ffff:127.")


def test_up_twice_status_then_down_leaves_nothing(tmp_path):
    ports = dict(zip(PORT_OPTIONS, _free_ports(len(PORT_OPTIONS))))
    port_args = [arg for option, port in ports.items() for arg in (f"--{option}", str(port))]
    try:
        up = _stack(tmp_path, "up", *port_args, "--taskmanagers", "1")
        assert up.returncode == 0, up.stdout + up.stderr
        assert all(name in up.stdout for name in ("kafka", "registry", "zookeeper", "flink"))

        status = _stack(tmp_path, "status", "--json")
        assert status.returncode == 0, status.stdout + status.stderr
        report = json.loads(status.stdout)
        assert report["healthy"] is True
        assert report["bootstrap_servers"] == f"127.0.0.1:{ports['kafka-port']}"
        # Flink's Prometheus reporter, one port for the jobmanager and one for the taskmanager.
        base = ports["prometheus-port"]
        assert report["prometheus_answering"] == [f"http://127.0.0.1:{p}/metrics" for p in (base, base + 1)]
        groups = [pid for service in report["services"].values() for pid in service["pids"]]
        assert len(groups) == 5  # kafka, registry, zookeeper, flink jobmanager, the one flink taskmanager asked for

        # Every socket the stack listens on is on loopback, the configured ports among them.
        processes = [pid for group in groups for pid in _process_group(group)]
        listening = _listening_addresses(processes)
        assert listening, "found no listening socket of the stack"
        assert all(_is_loopback(address) for address, _ in listening), listening
        assert set(ports.values()) <= {port for _, port in listening}

        again = _stack(tmp_path, "up", *port_args)
        assert again.returncode == 0, again.stdout + again.stderr
        assert again.stdout.count("already up") == 4
    finally:
        down = _stack(tmp_path, "down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert all(not _process_group(group) for group in groups)
    assert not [port for port in ports.values() if port_open("127.0.0.1", port)]
    assert _stack(tmp_path, "status").returncode != 0


def test_busy_port_is_refused_with_a_clear_message(tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        busy = squatter.getsockname()[1]
        free = _free_ports(6)
        result = _stack(tmp_path, "up", "kafka", "--kafka-port", str(busy), "--kafka-controller-port", str(free[0]),
                        "--registry-port", str(free[1]), "--registry-management-port", str(free[2]),
                        "--flink-rest-port", str(free[3]), "--flink-rpc-port", str(free[4]),
                        "--zookeeper-port", str(free[5]))
    assert result.returncode == 1
    assert f"[{busy}]" in result.stderr and "taken by another process" in result.stderr
