-- "Supabase-like" cluster: the operational public.clientes table the runbook's v_clientes_360
-- joins (and its phase 5 cleans up: rows synchronised from the DW carry origem 'dim_clientes_bi').
-- Run as `supabase_admin` in database `postgres`; the table is created by (owned by) postgres.
SET ROLE postgres;

CREATE TABLE public.clientes (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    codigo_cliente          text,
    razao_social            text,
    origem                  text NOT NULL DEFAULT 'crm',
    stage_id                integer,
    ultimo_atendente_id     uuid,
    ultimo_atendimento_at   timestamptz,
    status_triagem          text,
    descartado_em           timestamptz,
    descartado_motivo       text,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX clientes_codigo_cliente_idx ON public.clientes (codigo_cliente);

-- n_clientes rows; the first n_bi came from the DW sync (codigo_cliente = the DW's code as
-- text), the rest were typed in the CRM or came from WhatsApp. Deterministic ids.
INSERT INTO public.clientes (id, codigo_cliente, razao_social, origem, stage_id,
    ultimo_atendente_id, ultimo_atendimento_at, status_triagem, descartado_em,
    descartado_motivo, created_at, updated_at)
SELECT md5('clientes' || i)::uuid,
       CASE WHEN bi THEN i::text
            WHEN hashint4(i) & 3 = 0 THEN 'CRM-' || lpad(i::text, 6, '0') END,
       CASE WHEN bi THEN 'Cliente ' || i || ' (sincronizado do BI)'
            ELSE 'Lead ' || i END,
       CASE WHEN bi THEN 'dim_clientes_bi' WHEN hashint4(i) & 1 = 0 THEN 'crm' ELSE 'whatsapp' END,
       1 + (hashint4(i + 1) & 2147483647) % 6,
       CASE WHEN hashint4(i + 2) & 1 = 0 THEN md5('atendente' || (hashint4(i + 3) & 15))::uuid END,
       CASE WHEN hashint4(i + 2) & 1 = 0
            THEN timestamptz '2026-01-12 12:00:00-03' - (hashint4(i + 4) & 65535) * interval '5 minutes' END,
       (ARRAY['novo', 'em_triagem', 'qualificado', 'descartado'])[1 + (hashint4(i + 5) & 3)],
       CASE WHEN (hashint4(i + 5) & 3) = 3
            THEN timestamptz '2026-01-10 12:00:00-03' - (hashint4(i + 6) & 4095) * interval '1 hour' END,
       CASE WHEN (hashint4(i + 5) & 3) = 3
            THEN (ARRAY['Sem interesse', 'Duplicado', 'Fora do perfil', 'Sem contato'])[1 + (hashint4(i + 7) & 3)] END,
       timestamptz '2024-03-01 09:00:00-03' + (hashint4(i + 8) & 65535) * interval '10 minutes',
       timestamptz '2026-01-11 09:00:00-03' - (hashint4(i + 9) & 4095) * interval '1 minute'
FROM (SELECT i, i <= {n_bi} AS bi FROM generate_series(1, {n_clientes}) AS i) g;

ALTER TABLE public.clientes ENABLE ROW LEVEL SECURITY;
CREATE POLICY "authenticated can read clientes" ON public.clientes
    FOR SELECT TO authenticated USING (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON public.clientes TO authenticated, service_role;

RESET ROLE;
ANALYZE public.clientes;
