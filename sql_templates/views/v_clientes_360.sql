-- Runbook 3.1: operational data from Supabase (clientes) joined with BI data read through the FDW.
-- security_invoker decides whose rights (and RLS) apply: see the step's explanation.
CREATE OR REPLACE VIEW {view_schema}.v_clientes_360 WITH (security_invoker = {security_invoker}) AS
SELECT
    c.id AS supabase_id,
    c.stage_id,
    c.ultimo_atendente_id,
    c.ultimo_atendimento_at,
    c.status_triagem,
    c.descartado_em,
    c.descartado_motivo,
    bi.codigo_cliente,
    bi.razao_social,
    bi.nome_fantasia,
    bi.cpf_cnpj,
    bi.email,
    bi.telefone,
    bi.cidade,
    bi.estado,
    bi.segmento,
    bi.situacao,
    bi.data_criacao,
    bi.grupo_economico
FROM {fdw_schema}.dim_clientes bi
LEFT JOIN public.clientes c ON c.codigo_cliente = bi.codigo_cliente::text
