"""A network partition on loopback: every TCP packet to and from one loopback endpoint is
dropped by an nftables rule, so a peer gets no answer at all — no RST, no ACK (unlike a hung
server, whose kernel still ACKs, or a stopped one, whose kernel refuses).

Used by ``validate.offline`` (the "partitioned" outage: a fresh connection attempt whose SYNs
go unanswered, and a warm connection through a
:class:`wizard.testbed.blackhole.FreezableProxy` whose
port is then cut) and by the tests. It needs Linux, root and the ``nft`` command; elsewhere
:func:`unavailable` says why. Each cut lives in a table of its own, named after the port and
this process (``inet fdw_wizard_partition_<port>_<pid>``), removed by :meth:`Partition.heal`;
a table left by a killed process is removed by the next cut. Rules only ever drop packets on
``lo`` between loopback addresses.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import shutil
import subprocess
import sys

from wizard.dwhost.platform.runner import process_alive
from wizard.testbed.blackhole import is_loopback

TABLE_PREFIX = "fdw_wizard_partition_"
NFT_TIMEOUT_S = 10.0
_TABLE_LINE = re.compile(rf"^table inet ({TABLE_PREFIX}(\d+)_(\d+))$")


def _nft(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    nft = shutil.which("nft") or "nft"
    return subprocess.run(
        [nft, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=NFT_TIMEOUT_S,
        check=False,
    )


def unavailable() -> tuple[str, str] | None:
    """None when a partition can be made here, else (reason, detail): ``platform`` (not
    Linux), ``root`` (not running as root), ``nft`` (no nft command), ``nft_failed`` (nft
    cannot read the ruleset: no CAP_NET_ADMIN, no nf_tables in the kernel)."""
    if not sys.platform.startswith("linux"):
        return "platform", sys.platform
    if os.geteuid() != 0:
        return "root", str(os.geteuid())
    if shutil.which("nft") is None:
        return "nft", ""
    try:
        listed = _nft("list", "tables")
    except (OSError, subprocess.SubprocessError) as exc:
        return "nft_failed", str(exc)
    if listed.returncode != 0:
        lines = (listed.stderr or listed.stdout).strip().splitlines()
        return "nft_failed", lines[0] if lines else f"exit {listed.returncode}"
    return None


def remove_stale() -> list[str]:
    """Delete the partition tables whose process is gone (a killed run): the names removed."""
    listed = _nft("list", "tables")
    removed: list[str] = []
    for line in listed.stdout.splitlines():
        match = _TABLE_LINE.match(line.strip())
        if match is None or process_alive(int(match.group(3))):
            continue
        if _nft("delete", "table", "inet", match.group(1)).returncode == 0:
            removed.append(match.group(1))
    return removed


class PartitionError(RuntimeError):
    pass


class Partition:
    """``Partition(port).cut()`` … ``.heal()`` (or ``with Partition(port) as p: p.cut()``):
    while cut, TCP to and from ``host:port`` on ``lo`` is dropped both ways."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        if host == "localhost":
            host = "127.0.0.1"
        if not is_loopback(host):
            raise ValueError(f"a partition is made on loopback only, not {host!r}")
        self.host = host.strip("[]")
        self.port = int(port)
        self.table = f"{TABLE_PREFIX}{self.port}_{os.getpid()}"
        self.active = False

    def _ruleset(self) -> str:
        family = "ip6" if ipaddress.ip_address(self.host).version == 6 else "ip"
        return (
            f"table inet {self.table} {{\n"
            "  chain input {\n"
            "    type filter hook input priority -300; policy accept;\n"
            f'    iif "lo" {family} daddr {self.host} tcp dport {self.port} drop\n'
            f'    iif "lo" {family} saddr {self.host} tcp sport {self.port} drop\n'
            "  }\n"
            "}\n"
        )

    def cut(self) -> None:
        reason = unavailable()
        if reason is not None:
            raise PartitionError(f"{reason[0]}: {reason[1]}".rstrip(": "))
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            remove_stale()
        added = _nft("-f", "-", stdin=self._ruleset())
        if added.returncode != 0:
            raise PartitionError(added.stderr.strip() or f"nft exit {added.returncode}")
        self.active = True

    def heal(self) -> None:
        if not self.active:
            return
        deleted = _nft("delete", "table", "inet", self.table)
        if deleted.returncode == 0 or "No such file" in deleted.stderr:
            self.active = False

    stop = heal  # the name the outage endpoints share

    def __enter__(self) -> Partition:
        return self

    def __exit__(self, *exc: object) -> None:
        self.heal()
