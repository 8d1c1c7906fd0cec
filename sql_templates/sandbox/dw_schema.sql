-- Local DW: the 18 tables the runbook imports (IMPORT FOREIGN SCHEMA ... LIMIT TO), with the
-- columns its views and dashboards use, in the shape a fleet-rental ETL (SQL Server DW -> Node.js
-- -> PostgreSQL) leaves them. Run as `postgres` in bluconecta_dw; the tables are created by (and
-- therefore OWNED BY) the ETL role, as on the operator's server.
GRANT ALL ON SCHEMA public TO etl_bluconecta;
SET ROLE etl_bluconecta;

CREATE TABLE dim_clientes (
    codigo_cliente      integer PRIMARY KEY,
    razao_social        text NOT NULL,
    nome_fantasia       text,
    cpf_cnpj            text NOT NULL,
    tipo_pessoa         char(2) NOT NULL,           -- PJ / PF
    email               text,
    telefone            text,
    endereco            text,
    cep                 text,
    cidade              text,
    estado              char(2),
    segmento            text,
    situacao            text,
    grupo_economico     text,
    limite_credito      numeric(14, 2),
    data_criacao        date,
    data_atualizacao    timestamptz
);

CREATE TABLE dim_frota (
    placa               text PRIMARY KEY,
    chassi              text,
    renavam             text,
    marca               text NOT NULL,
    modelo              text NOT NULL,
    versao              text,
    ano                 integer,                    -- ano-modelo
    ano_fabricacao      integer,
    cor                 text,
    combustivel         text,
    categoria           text,
    situacao            text,
    km_atual            integer,
    valor_fipe          numeric(14, 2),
    data_aquisicao      date,
    cliente_codigo      integer                     -- FK to dim_clientes (added after the load)
);

CREATE TABLE dim_condutores (
    id_condutor         integer PRIMARY KEY,
    nome                text NOT NULL,
    cpf                 text NOT NULL,
    cnh_numero          text,
    cnh_categoria       text,
    cnh_validade        date,
    telefone            text,
    email               text,
    cliente_codigo      integer,
    placa               text,
    situacao            text
);

CREATE TABLE dim_fornecedores (
    id_fornecedor       integer PRIMARY KEY,
    razao_social        text NOT NULL,
    cnpj                text NOT NULL,
    tipo_servico        text,
    cidade              text,
    estado              char(2),
    telefone            text,
    avaliacao           numeric(2, 1),
    ativo               boolean NOT NULL DEFAULT true
);

CREATE TABLE dim_contratos_locacao (
    id_contrato         integer PRIMARY KEY,
    numero_contrato     text NOT NULL UNIQUE,
    cliente_codigo      integer NOT NULL,
    tipo_contrato       text,
    data_inicio         date NOT NULL,
    data_fim            date,
    prazo_meses         integer,
    qtd_veiculos        integer,
    valor_mensal        numeric(14, 2),
    franquia_km_mes     integer,
    indice_reajuste     text,
    situacao            text
);

CREATE TABLE dim_itens_contrato (
    id_item             integer PRIMARY KEY,
    id_contrato         integer NOT NULL,
    placa               text,
    descricao           text,
    quantidade          integer,
    valor_unitario      numeric(14, 2),
    data_inicio         date,
    data_fim            date
);

CREATE TABLE dim_regras_contrato (
    id_regra            integer PRIMARY KEY,
    id_contrato         integer NOT NULL,
    tipo_regra          text NOT NULL,
    descricao           text,
    valor               numeric(14, 2),
    percentual          numeric(6, 2),
    vigente_desde       date
);

CREATE TABLE dim_veiculos_acessorios (
    id_acessorio        integer PRIMARY KEY,
    placa               text NOT NULL,
    acessorio           text NOT NULL,
    fornecedor_id       integer,
    data_instalacao     date,
    valor               numeric(12, 2)
);

CREATE TABLE fat_faturamentos (
    id_faturamento      bigint PRIMARY KEY,
    numero_nota         text NOT NULL,
    id_contrato         integer,
    cliente_codigo      integer NOT NULL,
    competencia         date NOT NULL,
    data_emissao        date NOT NULL,
    data_vencimento     date NOT NULL,
    tipo_faturamento    text,
    valor_bruto         numeric(14, 2) NOT NULL,
    valor_impostos      numeric(14, 2) NOT NULL,
    valor_liquido       numeric(14, 2) NOT NULL,
    situacao            text
);

CREATE TABLE fat_detalhe_itens_os (
    id_item_os          bigint PRIMARY KEY,
    numero_os           integer NOT NULL,
    placa               text,
    id_fornecedor       integer,
    data_abertura       date,
    item                text,
    quantidade          integer,
    valor_unitario      numeric(12, 2),
    valor_total         numeric(14, 2)
);

CREATE TABLE fat_ocorrencias_master (
    id_ocorrencia       bigint PRIMARY KEY,
    placa               text,
    cliente_codigo      integer,
    tipo_ocorrencia     text NOT NULL,
    data_ocorrencia     timestamp NOT NULL,
    cidade              text,
    estado              char(2),
    descricao           text,
    valor_estimado      numeric(14, 2),
    situacao            text
);

CREATE TABLE fat_financeiro_universal (
    id_lancamento       bigint PRIMARY KEY,
    natureza            text NOT NULL,              -- Receita / Despesa
    categoria           text,
    centro_custo        text,
    cliente_codigo      integer,
    id_fornecedor       integer,
    data_lancamento     date NOT NULL,
    data_vencimento     date,
    data_pagamento      date,
    valor               numeric(14, 2) NOT NULL,
    situacao            text
);

-- Monthly DRE already aggregated on the DW side (date_trunc is never pushed down by postgres_fdw:
-- dashboards read this table instead of aggregating fat_* remotely).
CREATE TABLE agg_dre_mensal (
    competencia         date NOT NULL,
    filial              text NOT NULL,
    conta               text NOT NULL,
    grupo_dre           text NOT NULL,
    valor_realizado     numeric(16, 2) NOT NULL,
    valor_orcado        numeric(16, 2),
    PRIMARY KEY (competencia, filial, conta)
);

CREATE TABLE fat_churn (
    id_churn            integer PRIMARY KEY,
    cliente_codigo      integer NOT NULL,
    data_referencia     date NOT NULL,
    data_cancelamento   date,
    motivo              text,
    qtd_veiculos_perdidos integer,
    receita_mensal_perdida numeric(14, 2),
    score_risco         numeric(5, 2)
);

CREATE TABLE fat_inadimplencia (
    id_inadimplencia    integer PRIMARY KEY,
    cliente_codigo      integer NOT NULL,
    id_faturamento      bigint,
    data_vencimento     date NOT NULL,
    dias_atraso         integer NOT NULL,
    faixa_atraso        text,
    valor_em_aberto     numeric(14, 2) NOT NULL,
    situacao_cobranca   text
);

CREATE TABLE fat_manutencao_unificado (
    id_manutencao       bigint PRIMARY KEY,
    placa               text NOT NULL,
    id_fornecedor       integer,
    tipo_manutencao     text,
    data_entrada        date NOT NULL,
    data_saida          date,
    dias_parado         integer,
    km                  integer,
    valor_total         numeric(14, 2)
);

CREATE TABLE fat_manutencao_completa (
    id_manutencao       bigint PRIMARY KEY,
    numero_os           integer NOT NULL,
    placa               text NOT NULL,
    cliente_codigo      integer,
    id_fornecedor       integer,
    tipo_manutencao     text,
    sistema             text,
    descricao           text,
    data_abertura       date NOT NULL,
    data_fechamento     date,
    km                  integer,
    valor_pecas         numeric(14, 2),
    valor_mao_obra      numeric(14, 2),
    valor_total         numeric(14, 2),
    situacao            text
);

CREATE TABLE hist_vida_veiculo_timeline (
    id_evento           bigint PRIMARY KEY,
    placa               text NOT NULL,
    data_evento         timestamp NOT NULL,
    tipo_evento         text NOT NULL,
    descricao           text,
    km                  integer,
    cliente_codigo      integer,
    valor               numeric(14, 2)
);

RESET ROLE;
