"""Outputs of Linux commands (C locale) recorded on Debian 12 / Ubuntu 22.04 / Rocky 9 hosts."""
# ruff: noqa: E501  (recorded output is kept verbatim)

from __future__ import annotations

PG_LSCLUSTERS_MANY = """Ver Cluster Port Status          Owner    Data directory               Log file
13  old     5434 down,binaries_missing postgres /var/lib/postgresql/13/old <unknown>
15  main    5432 online          postgres /var/lib/postgresql/15/main  /var/log/postgresql/postgresql-15-main.log
16  main    5433 online,recovery postgres /srv/pg/16/main              /var/log/postgresql/postgresql-16-main.log
"""

SYSTEMCTL_LIST_UNITS = """postgresql-16.service loaded active running PostgreSQL 16 database server
postgresql.service    loaded active exited  PostgreSQL RDBMS
"""

SYSTEMCTL_SHOW_PG16 = """ExecStart={ path=/usr/pgsql-16/bin/postgres ; argv[]=/usr/pgsql-16/bin/postgres -D ${PGDATA} ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }
Environment=PGDATA=/var/lib/pgsql/16/data/ PG_OOM_ADJUST_FILE=/proc/self/oom_score_adj PG_OOM_ADJUST_VALUE=0
"""

SYSTEMCTL_SHOW_OTHER = """ExecStart={ path=/bin/true ; argv[]=/bin/true ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }
Environment=
"""

SYSTEMCTL_STATE_ACTIVE = "LoadState=loaded\nActiveState=active\nSubState=running\n"
SYSTEMCTL_STATE_FAILED = "LoadState=loaded\nActiveState=failed\nSubState=failed\n"

UFW_INACTIVE = "Status: inactive\n"

UFW_ACTIVE_NOTHING_OURS = """Status: active

To                         Action      From
--                         ------      ----
22/tcp                     ALLOW       Anywhere
22/tcp (v6)                ALLOW       Anywhere (v6)

"""

UFW_ACTIVE_OURS = """Status: active

To                         Action      From
--                         ------      ----
22/tcp                     ALLOW       Anywhere
5432/tcp                   ALLOW       203.0.113.10               # fdw-wizard-postgresql
5432/tcp                   ALLOW       198.51.100.0/24            # fdw-wizard-postgresql
22/tcp (v6)                ALLOW       Anywhere (v6)

"""

UFW_ACTIVE_STALE = """Status: active

To                         Action      From
--                         ------      ----
22/tcp                     ALLOW       Anywhere
5432/tcp                   ALLOW       203.0.113.10               # fdw-wizard-postgresql
5432/tcp                   ALLOW       192.0.2.77                 # fdw-wizard-postgresql

"""

UFW_NOT_ROOT = "ERROR: You need to be root to run this script\n"

FIREWALLD_RUNNING = "running\n"
FIREWALLD_NOT_RUNNING = "not running\n"
FIREWALLD_NOT_RUNNING_RC = 252

FIREWALLD_RICH_RULES = (
    'rule family="ipv4" source address="203.0.113.10" port port="5432" protocol="tcp" accept\n'
)

NFT_RULESET_DROP = """table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		iif "lo" accept
		tcp dport 22 accept
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
	}
	chain output {
		type filter hook output priority filter; policy accept;
	}
}
"""

NFT_RULESET_OPEN = """table inet filter {
	chain input {
		type filter hook input priority filter; policy accept;
	}
}
"""

IPTABLES_INPUT_DROP = """-P INPUT DROP
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
"""

IPTABLES_INPUT_OPEN = "-P INPUT ACCEPT\n"
