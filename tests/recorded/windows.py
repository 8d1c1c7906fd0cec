"""Outputs of Windows commands as an EDB PostgreSQL 16 host prints them — for the FAKE
runner (wizard.dwhost.platform.runner.RecordedRunner) of the tests only; nothing here runs anything.

The English ones follow Windows Server 2019/2022 output; the pt-BR ones are the same commands on
a Portuguese (Brazil) Windows, where sc.exe translates the labels ("ESTADO") but not the state
number, and net.exe/netsh translate their sentences. Line endings are already normalized to
"\n" (SubprocessRunner does that), text is already decoded from the OEM code page (cp850).
"""

from __future__ import annotations

SVC = "postgresql-x64-16"
PG_CTL = r"C:\Program Files\PostgreSQL\16\bin\pg_ctl.exe"
DATA_DIR = r"C:\Program Files\PostgreSQL\16\data"

SC_QUERY_RUNNING = """
SERVICE_NAME: postgresql-x64-16
        TYPE               : 10  WIN32_OWN_PROCESS
        STATE              : 4  RUNNING
                                (STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)
        WIN32_EXIT_CODE    : 0  (0x0)
        SERVICE_EXIT_CODE  : 0  (0x0)
        CHECKPOINT         : 0x0
        WAIT_HINT          : 0x0
"""

SC_QUERY_STOPPED = """
SERVICE_NAME: postgresql-x64-16
        TYPE               : 10  WIN32_OWN_PROCESS
        STATE              : 1  STOPPED
        WIN32_EXIT_CODE    : 0  (0x0)
        SERVICE_EXIT_CODE  : 0  (0x0)
        CHECKPOINT         : 0x0
        WAIT_HINT          : 0x0
"""

# After a failed start (a typo in postgresql.conf): 1067 = the process terminated unexpectedly.
SC_QUERY_STOPPED_FAILED = """
SERVICE_NAME: postgresql-x64-16
        TYPE               : 10  WIN32_OWN_PROCESS
        STATE              : 1  STOPPED
        WIN32_EXIT_CODE    : 1067  (0x42b)
        SERVICE_EXIT_CODE  : 0  (0x0)
        CHECKPOINT         : 0x0
        WAIT_HINT          : 0x0
"""

SC_QUERY_START_PENDING = """
SERVICE_NAME: postgresql-x64-16
        TYPE               : 10  WIN32_OWN_PROCESS
        STATE              : 2  START_PENDING
                                (NOT_STOPPABLE, NOT_PAUSABLE, IGNORES_SHUTDOWN)
        WIN32_EXIT_CODE    : 0  (0x0)
        SERVICE_EXIT_CODE  : 0  (0x0)
        CHECKPOINT         : 0x1
        WAIT_HINT          : 0x7d0
"""

SC_QUERY_STOP_PENDING = """
SERVICE_NAME: postgresql-x64-16
        TYPE               : 10  WIN32_OWN_PROCESS
        STATE              : 3  STOP_PENDING
                                (STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)
        WIN32_EXIT_CODE    : 0  (0x0)
        SERVICE_EXIT_CODE  : 0  (0x0)
        CHECKPOINT         : 0x0
        WAIT_HINT          : 0x2710
"""

SC_QUERY_RUNNING_PT_BR = """
NOME_DO_SERVIÇO: postgresql-x64-16
        TIPO                       : 10  WIN32_OWN_PROCESS
        ESTADO                     : 4  RUNNING
                                (STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)
        CÓDIGO_DE_SAÍDA_DO_WIN32   : 0  (0x0)
        CÓDIGO_DE_SAÍDA_DO_SERVIÇO : 0  (0x0)
        PONTO_DE_VERIFICAÇÃO       : 0x0
        AGUARDAR_DICA              : 0x0
"""

SC_QUERY_STOPPED_PT_BR = """
NOME_DO_SERVIÇO: postgresql-x64-16
        TIPO                       : 10  WIN32_OWN_PROCESS
        ESTADO                     : 1  STOPPED
        CÓDIGO_DE_SAÍDA_DO_WIN32   : 1067  (0x42b)
        CÓDIGO_DE_SAÍDA_DO_SERVIÇO : 0  (0x0)
        PONTO_DE_VERIFICAÇÃO       : 0x0
        AGUARDAR_DICA              : 0x0
"""

# A label no table knows: the layout (TYPE line, then STATE line) still finds the number.
SC_QUERY_RUNNING_UNKNOWN_LABELS = """
XX_NAME: postgresql-x64-16
        XTYPE              : 10  WIN32_OWN_PROCESS
        XSTATE             : 4  LAUFT
"""

SC_QUERY_MISSING = """[SC] EnumQueryServicesStatus:OpenService FAILED 1060:

The specified service does not exist as an installed service.

"""
SC_QUERY_MISSING_RC = 1060

SC_START_PENDING = """
SERVICE_NAME: postgresql-x64-16
        TYPE               : 10  WIN32_OWN_PROCESS
        STATE              : 2  START_PENDING
                                (NOT_STOPPABLE, NOT_PAUSABLE, IGNORES_SHUTDOWN)
        WIN32_EXIT_CODE    : 0  (0x0)
        SERVICE_EXIT_CODE  : 0  (0x0)
        CHECKPOINT         : 0x0
        WAIT_HINT          : 0x7d0
        PID                : 6412
        FLAGS              :
"""

NET_START_OK = """The postgresql-x64-16 - PostgreSQL Server 16 service is starting.
The postgresql-x64-16 - PostgreSQL Server 16 service was started successfully.

"""

NET_START_OK_PT_BR = """O serviço de postgresql-x64-16 - PostgreSQL Server 16 está sendo iniciado.
O serviço de postgresql-x64-16 - PostgreSQL Server 16 foi iniciado com êxito.

"""

NET_START_FAILED = """The postgresql-x64-16 - PostgreSQL Server 16 service is starting.
The postgresql-x64-16 - PostgreSQL Server 16 service could not be started.

"""
NET_START_FAILED_STDERR = """A service specific error occurred: 1.

More help is available by typing NET HELPMSG 3547.

"""
NET_START_FAILED_RC = 2

NET_STOP_OK = """The postgresql-x64-16 - PostgreSQL Server 16 service is stopping.
The postgresql-x64-16 - PostgreSQL Server 16 service was stopped successfully.

"""

RESTART_SERVICE_OK = (
    "WARNING: Waiting for service 'postgresql-x64-16 - PostgreSQL Server 16 "
    "(postgresql-x64-16)' to stop...\n"
)

PG_CTL_RELOAD_OK = "server signaled\n"

# -- the Application event log (source PostgreSQL), as WindowsService.events() asks for it --
# A start that fails before the logging collector runs (here: TLS on, certificate missing) is
# written only there. EDB on a pt-BR Windows runs with lc_messages 'Portuguese_Brazil.1252';
# pg_ctl adds its own entry when the server does not come up. Reconstructed (not captured):
# the first `fdw-wizard field-report` on the server replaces it with the real thing.
EVENTS_START_FAILED = (
    '[{"Time":"2026-11-30T10:15:02","Level":2,"Id":0,"Message":"2026-11-30 10:15:02.311 -03 '
    '[5120] FATAL:  não pôde carregar arquivo de certificado do servidor \\"server.crt\\": '
    'No such file or directory"},'
    '{"Time":"2026-11-30T10:15:03","Level":2,"Id":0,"Message":"Timed out waiting for server '
    'startup"}]\n'
)
EVENTS_NONE = "[]\n"
# Restart-Service when the start after the stop fails.
RESTART_SERVICE_START_FAILED = (
    "Restart-Service : Failed to start service 'postgresql-x64-16 - PostgreSQL Server 16 "
    "(postgresql-x64-16)'.\n"
)

# -- firewall ---------------------------------------------------------------------------------

FW_NO_RULE = "null\n"

FW_MATCHING = (
    '{"Name":"fdw-wizard-postgresql","Enabled":"True","Direction":"Inbound","Action":"Allow",'
    '"Profile":"Private","Protocol":"TCP","LocalPort":["5432"],'
    '"RemoteAddress":["203.0.113.10","198.51.100.0/255.255.255.0"]}\n'
)

FW_OTHER_PORT_AND_ADDRESSES = (
    '{"Name":"fdw-wizard-postgresql","Enabled":"True","Direction":"Inbound","Action":"Allow",'
    '"Profile":"Private","Protocol":"TCP","LocalPort":["5433"],'
    '"RemoteAddress":["192.0.2.77"]}\n'
)

FW_DISABLED_PUBLIC_ONLY = (
    '{"Name":"fdw-wizard-postgresql","Enabled":"False","Direction":"Inbound","Action":"Allow",'
    '"Profile":"Public","Protocol":"TCP","LocalPort":["5432"],'
    '"RemoteAddress":["203.0.113.10","198.51.100.0/255.255.255.0"]}\n'
)

NET_PROFILES_PRIVATE = (
    '[{"Name":"corp.example","InterfaceAlias":"Ethernet","NetworkCategory":"Private"}]\n'
)
NET_PROFILES_PUBLIC = (
    '[{"Name":"Rede 2","InterfaceAlias":"Ethernet 2","NetworkCategory":"Public"}]\n'
)
NET_PROFILES_DOMAIN = (
    '[{"Name":"corp.local","InterfaceAlias":"Ethernet","NetworkCategory":"DomainAuthenticated"}]\n'
)

# PowerShell present, NetSecurity module absent (stripped Server Core, old Windows).
PS_CMDLET_MISSING = (
    "Get-NetFirewallRule : The term 'Get-NetFirewallRule' is not recognized as the name of a "
    "cmdlet, function, script file, or operable program.\n"
    "    + CategoryInfo          : ObjectNotFound: (Get-NetFirewallRule:String) [], "
    "CommandNotFoundException\n"
    "    + FullyQualifiedErrorId : CommandNotFoundException\n"
)

NETSH_NO_RULE = "No rules match the specified criteria.\n"

NETSH_RULE_EN = """
Rule Name:                            fdw-wizard-postgresql
----------------------------------------------------------------------
Enabled:                              Yes
Direction:                            In
Profiles:                             Domain,Private
Grouping:
LocalIP:                              Any
RemoteIP:                             203.0.113.10/32,198.51.100.0/24
Protocol:                             TCP
LocalPort:                            5432
RemotePort:                           Any
Edge traversal:                       No
InterfaceTypes:                       Any
Security:                             NotRequired
Rule source:                          Local Setting
Action:                               Allow
Ok.

"""

NETSH_RULE_PT_BR = """
Nome da Regra:                        fdw-wizard-postgresql
----------------------------------------------------------------------
Habilitado:                           Sim
Direção:                              Entrada
Perfis:                               Domínio,Particular
Agrupamento:
LocalIP:                              Qualquer
RemoteIP:                             203.0.113.10/32,198.51.100.0/24
Protocolo:                            TCP
LocalPort:                            5432
RemotePort:                           Qualquer
Passagem de borda:                    Não
Ação:                                 Permitir
Ok.

"""

# -- registry (HKLM, 64-bit view) as the EDB 16 installer leaves it ---------------------------

EDB16_REGISTRY = {
    r"SOFTWARE\PostgreSQL\Installations\postgresql-x64-16": {
        "Base Directory": r"C:\Program Files\PostgreSQL\16",
        "Branding": "PostgreSQL 16",
        "Data Directory": r"C:\Program Files\PostgreSQL\16\data",
        "Service ID": "postgresql-x64-16",
        "Super User": "postgres",
        "Version": "16.4",
    },
    r"SOFTWARE\PostgreSQL\Services\postgresql-x64-16": {
        "Data Directory": r"C:\Program Files\PostgreSQL\16\data",
        "Database Superuser": "postgres",
        "Display Name": "postgresql-x64-16 - PostgreSQL Server 16",
        "Port": 5432,
        "Product Code": "postgresql-x64-16",
        "Service Account": r"NT AUTHORITY\NetworkService",
    },
    r"SYSTEM\CurrentControlSet\Services\postgresql-x64-16": {
        "DisplayName": "postgresql-x64-16 - PostgreSQL Server 16",
        "ImagePath": (
            r'"C:\Program Files\PostgreSQL\16\bin\pg_ctl.exe" runservice -N "postgresql-x64-16" '
            r'-D "C:\Program Files\PostgreSQL\16\data" -w'
        ),
        "ObjectName": r"NT AUTHORITY\NetworkService",
        "Start": 2,
        "Type": 16,
    },
    r"SYSTEM\CurrentControlSet\Services\Spooler": {
        "ImagePath": r"%SystemRoot%\System32\spoolsv.exe",
        "ObjectName": "LocalSystem",
    },
}

# A second, hand-registered cluster (pg_ctl register) with a moved data dir and odd quoting,
# known only to the service manager.
SECOND_SERVICE_REGISTRY = {
    r"SYSTEM\CurrentControlSet\Services\pgsql-dw": {
        "ImagePath": (
            r"D:\PostgreSQL\16\bin\pg_ctl.exe runservice -N pgsql-dw -D D:\PG Data\dw\ "
            r'-e "PostgreSQL DW" -o "-p 5433" -w -t 300'
        ),
        "ObjectName": r".\postgres",
    },
}

IMAGE_PATHS = {
    "edb-default": (
        r'"C:\Program Files\PostgreSQL\16\bin\pg_ctl.exe" runservice -N "postgresql-x64-16" '
        r'-D "C:\Program Files\PostgreSQL\16\data" -w',
        (
            r"C:\Program Files\PostgreSQL\16\bin\pg_ctl.exe",
            "postgresql-x64-16",
            r"C:\Program Files\PostgreSQL\16\data",
            None,
        ),
    ),
    "unquoted-program-with-spaces": (
        r'C:\Program Files\PostgreSQL\16\bin\pg_ctl.exe runservice -N "postgresql-x64-16" '
        r'-D "C:\Program Files\PostgreSQL\16\data" -w',
        (
            r"C:\Program Files\PostgreSQL\16\bin\pg_ctl.exe",
            "postgresql-x64-16",
            r"C:\Program Files\PostgreSQL\16\data",
            None,
        ),
    ),
    "unquoted-datadir-with-spaces": (
        r"D:\PostgreSQL\16\bin\pg_ctl.exe runservice -N pgsql-dw -D D:\PG Data\dw\ "
        r'-e "PostgreSQL DW" -o "-p 5433" -w -t 300',
        (r"D:\PostgreSQL\16\bin\pg_ctl.exe", "pgsql-dw", r"D:\PG Data\dw", 5433),
    ),
    "attached-and-long-options": (
        r'"E:\pg\bin\pg_ctl" runservice -N"pg16" --pgdata="E:\pg\data\" -w',
        (r"E:\pg\bin\pg_ctl", "pg16", r"E:\pg\data", None),
    ),
    "lowercase-no-extension-extra-spaces": (
        r'  "c:\program files\postgresql\16\bin\PG_CTL"   runservice   -N   "postgresql-x64-16"'
        r'   -D   "c:\program files\postgresql\16\data"  ',
        (
            r"c:\program files\postgresql\16\bin\PG_CTL",
            "postgresql-x64-16",
            r"c:\program files\postgresql\16\data",
            None,
        ),
    ),
}

# -- `fdw-wizard field-report` on the EDB 16 host (what it adds to the outputs above) --------

# postgres.exe started by an elevated administrator: refused unless -C comes first (main.c).
POSTGRES_ADMIN_REFUSED = (
    "Execution of PostgreSQL by a user with administrative permissions is not\n"
    "permitted.\n"
    "The server must be started under an unprivileged user ID to prevent\n"
    "possible system security compromises.  See the documentation for\n"
    "more information on how to properly start the server.\n"
)
POSTGRES_C_VALUES = {
    "port": "5432\n",
    "listen_addresses": "*\n",
    "ssl": "off\n",
    "logging_collector": "on\n",
    "log_directory": "log\n",
    "lc_messages": "Portuguese_Brazil.1252\n",
    "event_source": "PostgreSQL\n",
}

ICACLS_DATA_DIR = r"""C:\Program Files\PostgreSQL\16\data NT AUTHORITY\NetworkService:(OI)(CI)(F)
                                  BUILTIN\Administradores:(OI)(CI)(F)
                                  NT AUTHORITY\SISTEMA:(OI)(CI)(F)

Processados com êxito 1 arquivos; Falha no processamento de 0 arquivos
"""

FW_POLICY_DEFAULT = (
    '[{"Name":"Domain","Enabled":"True","DefaultInboundAction":"NotConfigured",'
    '"AllowLocalFirewallRules":"NotConfigured"},'
    '{"Name":"Private","Enabled":"True","DefaultInboundAction":"NotConfigured",'
    '"AllowLocalFirewallRules":"NotConfigured"},'
    '{"Name":"Public","Enabled":"True","DefaultInboundAction":"NotConfigured",'
    '"AllowLocalFirewallRules":"NotConfigured"}]\n'
)
# A domain GPO that ignores local rules on the Public profile.
FW_ACTIVE_POLICY = (
    '[{"Name":"Domain","Enabled":"True","DefaultInboundAction":"NotConfigured",'
    '"AllowLocalFirewallRules":"NotConfigured"},'
    '{"Name":"Private","Enabled":"True","DefaultInboundAction":"NotConfigured",'
    '"AllowLocalFirewallRules":"NotConfigured"},'
    '{"Name":"Public","Enabled":"True","DefaultInboundAction":"NotConfigured",'
    '"AllowLocalFirewallRules":"False"}]\n'
)

NETSH_ALLPROFILES_PT_BR = """
Configurações de Perfil de Domínio:
----------------------------------------------------------------------
Estado                                LIGADO
Política de Firewall                  BlockInbound,AllowOutbound

Configurações de Perfil Particular:
----------------------------------------------------------------------
Estado                                LIGADO
Política de Firewall                  BlockInbound,AllowOutbound
Ok.

"""
