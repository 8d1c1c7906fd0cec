"""Facts taken literally from the operator's runbook (seed/runbook-fdw-migration.pt-BR.md)."""

from __future__ import annotations

# The IMPORT FOREIGN SCHEMA ... LIMIT TO list of the runbook (section 2.2), in its order.
RUNBOOK_TABLES: tuple[str, ...] = (
    "dim_clientes",
    "dim_frota",
    "dim_condutores",
    "dim_fornecedores",
    "dim_contratos_locacao",
    "dim_itens_contrato",
    "dim_regras_contrato",
    "dim_veiculos_acessorios",
    "fat_faturamentos",
    "fat_detalhe_itens_os",
    "fat_ocorrencias_master",
    "fat_financeiro_universal",
    "agg_dre_mensal",
    "fat_churn",
    "fat_inadimplencia",
    "fat_manutencao_unificado",
    "fat_manutencao_completa",
    "hist_vida_veiculo_timeline",
)

RUNBOOK_DATABASE = "bluconecta_dw"
RUNBOOK_READER_ROLE = "supabase_fdw_reader"
RUNBOOK_SERVER_NAME = "bluconecta_dw_server"
RUNBOOK_FETCH_SIZE = 50000
RUNBOOK_BUCKET = "bi-reports"
RUNBOOK_LATENCY_TARGET_MS = 500
RUNBOOK_MONITOR_HOURS = 48
