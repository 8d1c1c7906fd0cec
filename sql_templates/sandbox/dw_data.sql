-- Local DW sample data, generated server-side with generate_series (fast, no round trips).
-- Deterministic: every "random" value is a hash of (row number, salt), so every run produces the
-- same rows. Row counts arrive as one n_<table> placeholder per table (scale knob; 1.0 = the field guide's
-- measured sizes: 40,000 dim_clientes and 100,000 fat_faturamentos). Run as `postgres` in
-- bluconecta_dw; rows are written by the ETL role that owns the tables.
SET ROLE etl_bluconecta;

CREATE FUNCTION pg_temp.h(i bigint, salt integer) RETURNS integer
    LANGUAGE sql IMMUTABLE AS 'SELECT hashint8(i * 7919 + salt) & 2147483647';
CREATE FUNCTION pg_temp.pick(choices text[], i bigint, salt integer) RETURNS text
    LANGUAGE sql IMMUTABLE AS 'SELECT choices[1 + pg_temp.h(i, salt) % cardinality(choices)]';
CREATE FUNCTION pg_temp.money(i bigint, salt integer, lo integer, hi integer) RETURNS numeric
    LANGUAGE sql IMMUTABLE
    AS 'SELECT round(lo + (pg_temp.h(i, salt) % ((hi - lo) * 100)) / 100.0, 2)';
-- Mercosul plate (LLLNLNN), a bijection of i: distinct vehicles get distinct plates.
CREATE FUNCTION pg_temp.placa(i bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
    SELECT chr(65 + (j / 17576000) % 26) || chr(65 + (j / 676000) % 26)
        || chr(65 + (j / 26000) % 26) || (j / 2600) % 10 || chr(65 + (j / 100) % 26)
        || lpad((j % 100)::text, 2, '0')
    FROM (SELECT ((i * 104729) % 456976000)::integer AS j) s
$f$;
CREATE FUNCTION pg_temp.cnpj(i bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
    SELECT substr(d, 1, 2) || '.' || substr(d, 3, 3) || '.' || substr(d, 6, 3) || '/0001-'
        || lpad(((i * 31) % 97)::text, 2, '0')
    FROM (SELECT lpad(((i * 7919) % 100000000)::text, 8, '0') AS d) s
$f$;
CREATE FUNCTION pg_temp.cpf(i bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
    SELECT substr(d, 1, 3) || '.' || substr(d, 4, 3) || '.' || substr(d, 7, 3) || '-'
        || lpad(((i * 37) % 97)::text, 2, '0')
    FROM (SELECT lpad(((i * 104723) % 1000000000)::text, 9, '0') AS d) s
$f$;
CREATE FUNCTION pg_temp.cidade(k integer) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
    SELECT (ARRAY['São Paulo', 'Rio de Janeiro', 'Belo Horizonte', 'Curitiba', 'Porto Alegre',
        'Salvador', 'Recife', 'Fortaleza', 'Goiânia', 'Campinas', 'Florianópolis', 'Manaus',
        'Brasília', 'Vitória', 'Belém', 'Ribeirão Preto', 'Joinville', 'Uberlândia',
        'Cuiabá', 'São José dos Campos'])[1 + k % 20]
$f$;
CREATE FUNCTION pg_temp.uf(k integer) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
    SELECT (ARRAY['SP', 'RJ', 'MG', 'PR', 'RS', 'BA', 'PE', 'CE', 'GO', 'SP', 'SC', 'AM', 'DF',
        'ES', 'PA', 'SP', 'SC', 'MG', 'MT', 'SP'])[1 + k % 20]
$f$;
CREATE FUNCTION pg_temp.ddd(k integer) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
    SELECT (ARRAY['11', '21', '31', '41', '51', '71', '81', '85', '62', '19', '48', '92', '61',
        '27', '91', '16', '47', '34', '65', '12'])[1 + k % 20]
$f$;
CREATE FUNCTION pg_temp.fone(i bigint, salt integer) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
    SELECT '(' || pg_temp.ddd(pg_temp.h(i, salt)) || ') 9' || lpad((pg_temp.h(i, salt + 1) % 10000)::text, 4, '0')
        || '-' || lpad((pg_temp.h(i, salt + 2) % 10000)::text, 4, '0')
$f$;
CREATE FUNCTION pg_temp.sobrenome(i bigint, salt integer) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
    SELECT pg_temp.pick(ARRAY['Silva', 'Santos', 'Oliveira', 'Souza', 'Pereira', 'Costa',
        'Rodrigues', 'Almeida', 'Nascimento', 'Lima', 'Araújo', 'Fernandes', 'Carvalho', 'Gomes',
        'Martins', 'Rocha', 'Ribeiro', 'Alves', 'Monteiro', 'Mendes', 'Barbosa', 'Cardoso',
        'Teixeira', 'Moreira', 'Correia', 'Vieira', 'Castro', 'Pinto', 'Freitas', 'Batista'], i, salt)
$f$;
CREATE FUNCTION pg_temp.nome(i bigint, salt integer) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
    SELECT pg_temp.pick(ARRAY['João', 'Maria', 'José', 'Ana', 'Carlos', 'Francisca', 'Paulo',
        'Antônia', 'Lucas', 'Juliana', 'Marcos', 'Fernanda', 'Rafael', 'Patrícia', 'Gabriel',
        'Aline', 'Bruno', 'Camila', 'Diego', 'Letícia', 'Eduardo', 'Vanessa', 'Thiago', 'Sônia'],
        i, salt) || ' ' || pg_temp.sobrenome(i, salt + 1) || ' ' || pg_temp.sobrenome(i, salt + 2)
$f$;

-- dim_clientes ------------------------------------------------------------------------------
INSERT INTO dim_clientes
SELECT i,
       CASE WHEN pj THEN pg_temp.pick(ARRAY['Transportadora', 'Logística', 'Distribuidora',
                'Construtora', 'Agropecuária', 'Comércio de Alimentos', 'Serviços Médicos',
                'Engenharia', 'Mineração', 'Indústria Metalúrgica', 'Atacadista'], i, 1)
                || ' ' || pg_temp.sobrenome(i, 2) || ' ' || pg_temp.sobrenome(i, 3) || ' '
                || pg_temp.pick(ARRAY['Ltda', 'S.A.', 'EIRELI', 'ME', 'Ltda'], i, 4)
            ELSE pg_temp.nome(i, 5) END,
       CASE WHEN pj THEN pg_temp.sobrenome(i, 2) || ' ' || pg_temp.pick(ARRAY['Transportes',
                'Log', 'Express', 'Frotas', 'Distribuição', 'Agro', 'Obras'], i, 6) END,
       CASE WHEN pj THEN pg_temp.cnpj(i) ELSE pg_temp.cpf(i) END,
       CASE WHEN pj THEN 'PJ' ELSE 'PF' END,
       CASE WHEN pg_temp.h(i, 7) % 10 <> 0 THEN 'financeiro' || i || '@' ||
            lower(pg_temp.pick(ARRAY['silva', 'santos', 'oliveira', 'souza', 'costa', 'lima',
                'rocha', 'alves', 'gomes', 'martins'], i, 8)) || '.com.br' END,
       '(' || pg_temp.ddd(k) || ') ' || (2 + pg_temp.h(i, 9) % 4)
            || lpad((pg_temp.h(i, 9) % 1000)::text, 3, '0') || '-'
            || lpad((pg_temp.h(i, 10) % 10000)::text, 4, '0'),
       pg_temp.pick(ARRAY['Rua', 'Avenida', 'Rodovia', 'Alameda', 'Travessa'], i, 11) || ' '
            || pg_temp.sobrenome(i, 12) || ', ' || (1 + pg_temp.h(i, 13) % 3000),
       lpad((pg_temp.h(i, 14) % 100000)::text, 5, '0') || '-'
            || lpad((pg_temp.h(i, 15) % 1000)::text, 3, '0'),
       pg_temp.cidade(k),
       pg_temp.uf(k),
       pg_temp.pick(ARRAY['Agronegócio', 'Construção civil', 'Logística', 'Varejo', 'Indústria',
           'Saúde', 'Serviços', 'Setor público', 'Energia', 'Mineração'], i, 16),
       CASE WHEN r < 75 THEN 'Ativo' WHEN r < 90 THEN 'Inativo' WHEN r < 95 THEN 'Prospect'
            ELSE 'Bloqueado' END,
       CASE WHEN pg_temp.h(i, 17) % 10 < 3 THEN 'Grupo ' || pg_temp.sobrenome(i, 18) END,
       pg_temp.money(i, 19, 5000, 900000),
       date '2012-01-01' + pg_temp.h(i, 20) % 5000,
       timestamptz '2026-01-12 03:00:00-03' - (pg_temp.h(i, 21) % 200000) * interval '1 minute'
FROM (SELECT i, pg_temp.h(i, 0) % 100 < 85 AS pj, pg_temp.h(i, 22) AS k,
             pg_temp.h(i, 23) % 100 AS r
      FROM generate_series(1, {n_dim_clientes}) AS i) g;

-- dim_frota -----------------------------------------------------------------------------------
INSERT INTO dim_frota
SELECT pg_temp.placa(i),
       '9' || upper(substr(md5('chassi' || i), 1, 16)),
       lpad((pg_temp.h(i, 1) % 1000000000)::text, 11, '0'),
       (ARRAY['Fiat', 'Fiat', 'Volkswagen', 'Volkswagen', 'Chevrolet', 'Chevrolet', 'Toyota',
           'Toyota', 'Renault', 'Renault', 'Hyundai', 'Ford', 'Mercedes-Benz', 'Iveco', 'Jeep',
           'Nissan'])[1 + m],
       (ARRAY['Strada', 'Toro', 'Saveiro', 'Gol', 'Onix', 'S10', 'Hilux', 'Corolla', 'Kwid',
           'Duster', 'HB20', 'Ranger', 'Sprinter', 'Daily', 'Compass', 'Frontier'])[1 + m],
       pg_temp.pick(ARRAY['1.0 Flex', '1.3 Turbo', '2.8 Diesel 4x4', 'Cabine dupla', 'Furgão',
           '2.0 Flex Automático'], i, 2),
       ano,
       ano - pg_temp.h(i, 3) % 2,
       pg_temp.pick(ARRAY['Branco', 'Branco', 'Prata', 'Preto', 'Cinza', 'Vermelho', 'Azul'], i, 4),
       pg_temp.pick(ARRAY['Flex', 'Flex', 'Diesel', 'Gasolina', 'Elétrico', 'Híbrido'], i, 5),
       pg_temp.pick(ARRAY['Leve', 'Utilitário', 'Pesado', 'SUV', 'Picape'], i, 6),
       situacao,
       pg_temp.h(i, 7) % 180000,
       pg_temp.money(i, 8, 60000, 320000),
       make_date(ano - 1, 1 + pg_temp.h(i, 9) % 12, 1 + pg_temp.h(i, 10) % 28),
       CASE WHEN situacao IN ('Locado', 'Em manutenção')
            THEN 1 + pg_temp.h(i, 11) % {n_dim_clientes} END
FROM (SELECT i, pg_temp.h(i, 0) % 16 AS m, 2018 + pg_temp.h(i, 12) % 8 AS ano,
             CASE WHEN pg_temp.h(i, 13) % 100 < 72 THEN 'Locado'
                  WHEN pg_temp.h(i, 13) % 100 < 84 THEN 'Disponível'
                  WHEN pg_temp.h(i, 13) % 100 < 92 THEN 'Em manutenção'
                  WHEN pg_temp.h(i, 13) % 100 < 96 THEN 'Em desmobilização'
                  ELSE 'Vendido' END AS situacao
      FROM generate_series(1, {n_dim_frota}) AS i) g;

-- dim_condutores ------------------------------------------------------------------------------
INSERT INTO dim_condutores
SELECT i,
       pg_temp.nome(i, 1),
       pg_temp.cpf(i + 5000000),
       lpad((pg_temp.h(i, 2) % 1000000000)::text, 11, '0'),
       pg_temp.pick(ARRAY['B', 'B', 'AB', 'C', 'D', 'E'], i, 3),
       date '2024-06-01' + pg_temp.h(i, 4) % 2000,
       pg_temp.fone(i, 5),
       'condutor' || i || '@' || pg_temp.pick(ARRAY['gmail.com', 'hotmail.com', 'outlook.com',
           'yahoo.com.br', 'uol.com.br'], i, 8),
       1 + pg_temp.h(i, 9) % {n_dim_clientes},
       CASE WHEN pg_temp.h(i, 10) % 2 = 0 THEN pg_temp.placa(1 + pg_temp.h(i, 11) % {n_dim_frota}) END,
       CASE WHEN pg_temp.h(i, 12) % 10 < 8 THEN 'Ativo' ELSE 'Inativo' END
FROM generate_series(1, {n_dim_condutores}) AS i;

-- dim_fornecedores ----------------------------------------------------------------------------
INSERT INTO dim_fornecedores
SELECT i,
       pg_temp.pick(ARRAY['Auto Center', 'Oficina Mecânica', 'Pneus', 'Funilaria e Pintura',
           'Guincho', 'Concessionária', 'Vidraçaria Automotiva', 'Auto Elétrica'], i, 1)
           || ' ' || pg_temp.sobrenome(i, 2) || ' Ltda',
       pg_temp.cnpj(i + 90000000),
       pg_temp.pick(ARRAY['Mecânica', 'Pneus', 'Funilaria', 'Guincho', 'Vidros', 'Elétrica',
           'Revisão de concessionária'], i, 3),
       pg_temp.cidade(pg_temp.h(i, 4)),
       pg_temp.uf(pg_temp.h(i, 4)),
       pg_temp.fone(i, 5),
       round((20 + pg_temp.h(i, 8) % 31) / 10.0, 1),
       pg_temp.h(i, 9) % 10 <> 0
FROM generate_series(1, {n_dim_fornecedores}) AS i;

-- dim_contratos_locacao -----------------------------------------------------------------------
INSERT INTO dim_contratos_locacao
SELECT i,
       'CT-' || extract(year FROM inicio) || '-' || lpad(i::text, 6, '0'),
       1 + pg_temp.h(i, 1) % {n_dim_clientes},
       pg_temp.pick(ARRAY['Terceirização de frota', 'Locação mensal', 'Locação eventual',
           'Frota executiva'], i, 2),
       inicio,
       (inicio + make_interval(months => prazo))::date,
       prazo,
       qtd,
       qtd * pg_temp.money(i, 3, 1800, 4200),
       (ARRAY[1500, 2000, 2500, 3000, 5000])[1 + pg_temp.h(i, 4) % 5],
       pg_temp.pick(ARRAY['IPCA', 'IGP-M'], i, 5),
       CASE WHEN inicio + make_interval(months => prazo) < date '2026-01-12' THEN 'Encerrado'
            WHEN pg_temp.h(i, 6) % 20 = 0 THEN 'Suspenso'
            WHEN pg_temp.h(i, 6) % 20 = 1 THEN 'Em renovação'
            ELSE 'Ativo' END
FROM (SELECT i, date '2016-01-01' + pg_temp.h(i, 7) % 3600 AS inicio,
             (ARRAY[12, 24, 36, 48])[1 + pg_temp.h(i, 8) % 4] AS prazo,
             1 + pg_temp.h(i, 9) % 40 AS qtd
      FROM generate_series(1, {n_dim_contratos_locacao}) AS i) g;

-- dim_itens_contrato --------------------------------------------------------------------------
INSERT INTO dim_itens_contrato
SELECT i, c.id_contrato,
       CASE WHEN item = 'Locação de veículo' THEN pg_temp.placa(1 + pg_temp.h(i, 2) % {n_dim_frota}) END,
       item,
       1 + pg_temp.h(i, 3) % 3,
       pg_temp.money(i, 4, 80, 4500),
       c.data_inicio,
       c.data_fim
FROM (SELECT i, 1 + pg_temp.h(i, 1) % {n_dim_contratos_locacao} AS id_contrato,
             pg_temp.pick(ARRAY['Locação de veículo', 'Locação de veículo', 'Seguro com cobertura total',
                 'Rastreamento', 'Carro reserva', 'Manutenção preventiva inclusa', 'Motorista'],
                 i, 5) AS item
      FROM generate_series(1, {n_dim_itens_contrato}) AS i) g
JOIN dim_contratos_locacao c USING (id_contrato);

-- dim_regras_contrato -------------------------------------------------------------------------
INSERT INTO dim_regras_contrato
SELECT i,
       1 + pg_temp.h(i, 1) % {n_dim_contratos_locacao},
       tipo,
       CASE tipo WHEN 'Franquia de km' THEN 'Km excedente cobrado por km rodado acima da franquia'
                 WHEN 'Multa rescisória' THEN 'Multa sobre as mensalidades restantes'
                 WHEN 'Reajuste anual' THEN 'Reajuste pelo índice do contrato no aniversário'
                 WHEN 'Carro reserva' THEN 'Carro reserva após 24 horas de veículo parado'
                 ELSE 'Participação do cliente no sinistro' END,
       pg_temp.money(i, 2, 0, 5000),
       round((pg_temp.h(i, 3) % 5000) / 100.0, 2),
       date '2016-01-01' + pg_temp.h(i, 4) % 3600
FROM (SELECT i, pg_temp.pick(ARRAY['Franquia de km', 'Multa rescisória', 'Reajuste anual',
          'Carro reserva', 'Coparticipação em sinistro'], i, 5) AS tipo
      FROM generate_series(1, {n_dim_regras_contrato}) AS i) g;

-- dim_veiculos_acessorios ---------------------------------------------------------------------
INSERT INTO dim_veiculos_acessorios
SELECT i,
       pg_temp.placa(1 + pg_temp.h(i, 1) % {n_dim_frota}),
       pg_temp.pick(ARRAY['Rastreador', 'Engate', 'Protetor de caçamba', 'Kit multimídia',
           'Sensor de estacionamento', 'Película', 'Tapetes', 'Santo Antônio', 'Baú'], i, 2),
       1 + pg_temp.h(i, 3) % {n_dim_fornecedores},
       date '2018-01-01' + pg_temp.h(i, 4) % 2900,
       pg_temp.money(i, 5, 90, 6500)
FROM generate_series(1, {n_dim_veiculos_acessorios}) AS i;

-- fat_faturamentos ----------------------------------------------------------------------------
INSERT INTO fat_faturamentos
SELECT i,
       'NF-' || lpad(i::text, 9, '0'),
       c.id_contrato,
       c.cliente_codigo,
       competencia,
       competencia + pg_temp.h(i, 2) % 28,
       competencia + pg_temp.h(i, 2) % 28 + 30,
       tipo,
       bruto,
       round(bruto * 0.1425, 2),
       bruto - round(bruto * 0.1425, 2),
       CASE WHEN pg_temp.h(i, 3) % 100 < 2 THEN 'Cancelado'
            WHEN competencia < date '2025-10-01' THEN
                 CASE WHEN pg_temp.h(i, 4) % 100 < 96 THEN 'Pago' ELSE 'Vencido' END
            WHEN pg_temp.h(i, 4) % 100 < 60 THEN 'Pago'
            ELSE 'Em aberto' END
FROM (SELECT i, 1 + pg_temp.h(i, 1) % {n_dim_contratos_locacao} AS id_contrato,
             date_trunc('month', date '2021-01-01' + pg_temp.h(i, 5) % 1840)::date AS competencia,
             CASE WHEN pg_temp.h(i, 6) % 100 < 80 THEN 'Locação'
                  ELSE pg_temp.pick(ARRAY['Km excedente', 'Reembolso de multa', 'Avaria',
                      'Serviços adicionais'], i, 7) END AS tipo,
             pg_temp.money(i, 8, 350, 48000) AS bruto
      FROM generate_series(1, {n_fat_faturamentos}) AS i) g
JOIN dim_contratos_locacao c USING (id_contrato);

-- fat_detalhe_itens_os ------------------------------------------------------------------------
INSERT INTO fat_detalhe_itens_os
SELECT i, os,
       pg_temp.placa(1 + pg_temp.h(os, 2) % {n_dim_frota}),
       1 + pg_temp.h(os, 3) % {n_dim_fornecedores},
       date '2021-01-01' + pg_temp.h(os, 4) % 1840,
       pg_temp.pick(ARRAY['Troca de óleo 5W30', 'Pastilha de freio dianteira', 'Pneu 205/55 R16',
           'Alinhamento e balanceamento', 'Filtro de ar', 'Bateria 60Ah', 'Palheta do limpador',
           'Disco de freio', 'Amortecedor traseiro', 'Correia dentada', 'Mão de obra'], i, 5),
       qtd, unit, qtd * unit
FROM (SELECT i, 1 + i / 4 AS os, 1 + pg_temp.h(i, 6) % 4 AS qtd,
             pg_temp.money(i, 7, 25, 1800) AS unit
      FROM generate_series(1, {n_fat_detalhe_itens_os}) AS i) g;

-- fat_ocorrencias_master ----------------------------------------------------------------------
INSERT INTO fat_ocorrencias_master
SELECT i,
       pg_temp.placa(1 + pg_temp.h(i, 1) % {n_dim_frota}),
       1 + pg_temp.h(i, 2) % {n_dim_clientes},
       pg_temp.pick(ARRAY['Multa de trânsito', 'Multa de trânsito', 'Sinistro', 'Avaria',
           'Pane mecânica', 'Guincho', 'Roubo/Furto', 'Troca de pneu'], i, 3),
       timestamp '2021-01-01' + (pg_temp.h(i, 4) % 2650000) * interval '1 minute',
       pg_temp.cidade(pg_temp.h(i, 5)),
       pg_temp.uf(pg_temp.h(i, 5)),
       pg_temp.pick(ARRAY['Registrado pelo condutor no aplicativo', 'Aberto pela central 24h',
           'Notificação recebida do órgão de trânsito', 'Informado pelo gestor da frota'], i, 6),
       pg_temp.money(i, 7, 88, 35000),
       pg_temp.pick(ARRAY['Aberta', 'Em análise', 'Encerrada', 'Encerrada', 'Encerrada'], i, 8)
FROM generate_series(1, {n_fat_ocorrencias_master}) AS i;

-- fat_financeiro_universal --------------------------------------------------------------------
INSERT INTO fat_financeiro_universal
SELECT i, natureza,
       CASE WHEN natureza = 'Receita'
            THEN pg_temp.pick(ARRAY['Locação', 'Venda de seminovos', 'Reembolsos'], i, 2)
            ELSE pg_temp.pick(ARRAY['Manutenção', 'IPVA e licenciamento', 'Seguro', 'Folha',
                'Financiamento de frota', 'Combustível'], i, 3) END,
       pg_temp.pick(ARRAY['Matriz', 'Filial SP', 'Filial RJ', 'Filial MG', 'Filial PR',
           'Filial RS'], i, 4),
       CASE WHEN natureza = 'Receita' THEN 1 + pg_temp.h(i, 5) % {n_dim_clientes} END,
       CASE WHEN natureza = 'Despesa' THEN 1 + pg_temp.h(i, 6) % {n_dim_fornecedores} END,
       lanc,
       lanc + 30,
       CASE WHEN lanc < date '2025-11-01' AND pg_temp.h(i, 7) % 100 < 95
            THEN lanc + 20 + pg_temp.h(i, 8) % 25 END,
       pg_temp.money(i, 9, 50, 95000),
       CASE WHEN lanc < date '2025-11-01' AND pg_temp.h(i, 7) % 100 < 95 THEN 'Liquidado'
            ELSE 'Pendente' END
FROM (SELECT i, CASE WHEN pg_temp.h(i, 1) % 100 < 55 THEN 'Receita' ELSE 'Despesa' END AS natureza,
             date '2021-01-01' + pg_temp.h(i, 10) % 1840 AS lanc
      FROM generate_series(1, {n_fat_financeiro_universal}) AS i) g;

-- agg_dre_mensal: 10 branches x 24 accounts per month, the most recent months last --------------
INSERT INTO agg_dre_mensal
SELECT (date '2025-12-01' - make_interval(months => ({n_agg_dre_mensal} - 1) / 240 - i / 240))::date,
       (ARRAY['Matriz', 'São Paulo', 'Rio de Janeiro', 'Belo Horizonte', 'Curitiba',
           'Porto Alegre', 'Salvador', 'Recife', 'Goiânia', 'Campinas'])[1 + (i % 240) / 24],
       conta.nome,
       conta.grupo,
       conta.sinal * pg_temp.money(i, 1, 1000, 2500000),
       conta.sinal * pg_temp.money(i, 2, 1000, 2500000)
FROM generate_series(0, {n_agg_dre_mensal} - 1) AS i
JOIN (VALUES
    (0, '3.1.01 Receita de locação', 'Receita bruta', 1),
    (1, '3.1.02 Receita de km excedente', 'Receita bruta', 1),
    (2, '3.1.03 Venda de seminovos', 'Receita bruta', 1),
    (3, '3.1.04 Reembolsos de sinistro', 'Receita bruta', 1),
    (4, '3.2.01 PIS/COFINS', 'Deduções', -1),
    (5, '3.2.02 ISS', 'Deduções', -1),
    (6, '3.2.03 Cancelamentos', 'Deduções', -1),
    (7, '4.1.01 Manutenção preventiva', 'Custos operacionais', -1),
    (8, '4.1.02 Manutenção corretiva', 'Custos operacionais', -1),
    (9, '4.1.03 Pneus', 'Custos operacionais', -1),
    (10, '4.1.04 IPVA e licenciamento', 'Custos operacionais', -1),
    (11, '4.1.05 Seguro da frota', 'Custos operacionais', -1),
    (12, '4.1.06 Rastreamento', 'Custos operacionais', -1),
    (13, '4.1.07 Custo de seminovos vendidos', 'Custos operacionais', -1),
    (14, '5.1.01 Pessoal administrativo', 'Despesas administrativas', -1),
    (15, '5.1.02 Aluguel e condomínio', 'Despesas administrativas', -1),
    (16, '5.1.03 Tecnologia', 'Despesas administrativas', -1),
    (17, '5.1.04 Comercial e marketing', 'Despesas administrativas', -1),
    (18, '5.2.01 Provisão para devedores duvidosos', 'Despesas administrativas', -1),
    (19, '6.1.01 Depreciação da frota', 'Depreciação', -1),
    (20, '6.1.02 Amortização', 'Depreciação', -1),
    (21, '7.1.01 Juros de financiamento de frota', 'Resultado financeiro', -1),
    (22, '7.1.02 Rendimentos de aplicações', 'Resultado financeiro', 1),
    (23, '8.1.01 IRPJ e CSLL', 'Impostos sobre o lucro', -1)
) AS conta(idx, nome, grupo, sinal) ON conta.idx = i % 24;

-- fat_churn -----------------------------------------------------------------------------------
INSERT INTO fat_churn
SELECT i,
       1 + pg_temp.h(i, 1) % {n_dim_clientes},
       ref,
       CASE WHEN pg_temp.h(i, 2) % 10 < 6 THEN ref + pg_temp.h(i, 3) % 90 END,
       pg_temp.pick(ARRAY['Preço', 'Atendimento', 'Encerramento das atividades',
           'Migração para concorrente', 'Redução de frota', 'Compra de frota própria'], i, 4),
       1 + pg_temp.h(i, 5) % 25,
       pg_temp.money(i, 6, 1500, 120000),
       round((pg_temp.h(i, 7) % 10000) / 100.0, 2)
FROM (SELECT i, date_trunc('month', date '2022-01-01' + pg_temp.h(i, 8) % 1460)::date AS ref
      FROM generate_series(1, {n_fat_churn}) AS i) g;

-- fat_inadimplencia ---------------------------------------------------------------------------
INSERT INTO fat_inadimplencia
SELECT i, f.cliente_codigo, f.id_faturamento, f.data_vencimento, atraso,
       CASE WHEN atraso <= 30 THEN '1-30' WHEN atraso <= 60 THEN '31-60'
            WHEN atraso <= 90 THEN '61-90' ELSE '>90' END,
       f.valor_bruto,
       pg_temp.pick(ARRAY['Em cobrança', 'Em cobrança', 'Acordo', 'Protesto', 'Jurídico'], i, 2)
FROM (SELECT i, 1 + pg_temp.h(i, 1) % {n_fat_faturamentos} AS id_faturamento,
             1 + pg_temp.h(i, 3) % 240 AS atraso
      FROM generate_series(1, {n_fat_inadimplencia}) AS i) g
JOIN fat_faturamentos f USING (id_faturamento);

-- fat_manutencao_unificado --------------------------------------------------------------------
INSERT INTO fat_manutencao_unificado
SELECT i,
       pg_temp.placa(1 + pg_temp.h(i, 1) % {n_dim_frota}),
       1 + pg_temp.h(i, 2) % {n_dim_fornecedores},
       pg_temp.pick(ARRAY['Preventiva', 'Preventiva', 'Corretiva', 'Revisão', 'Sinistro'], i, 3),
       entrada,
       entrada + parado,
       parado,
       pg_temp.h(i, 4) % 180000,
       pg_temp.money(i, 5, 120, 28000)
FROM (SELECT i, date '2021-01-01' + pg_temp.h(i, 6) % 1840 AS entrada,
             pg_temp.h(i, 7) % 15 AS parado
      FROM generate_series(1, {n_fat_manutencao_unificado}) AS i) g;

-- fat_manutencao_completa ---------------------------------------------------------------------
INSERT INTO fat_manutencao_completa
SELECT i,
       100000 + i,
       pg_temp.placa(1 + pg_temp.h(i, 1) % {n_dim_frota}),
       1 + pg_temp.h(i, 2) % {n_dim_clientes},
       1 + pg_temp.h(i, 3) % {n_dim_fornecedores},
       pg_temp.pick(ARRAY['Preventiva', 'Preventiva', 'Corretiva', 'Revisão', 'Sinistro'], i, 4),
       pg_temp.pick(ARRAY['Motor', 'Freios', 'Suspensão', 'Elétrica', 'Pneus', 'Carroceria',
           'Arrefecimento', 'Transmissão'], i, 5),
       pg_temp.pick(ARRAY['Revisão dos 40.000 km', 'Troca de pastilhas e discos',
           'Substituição de amortecedores', 'Reparo no chicote elétrico', 'Troca de 4 pneus',
           'Funilaria e pintura do para-choque', 'Troca da bomba d''água',
           'Reparo na embreagem'], i, 6),
       abertura,
       CASE WHEN pg_temp.h(i, 7) % 20 <> 0 THEN abertura + pg_temp.h(i, 8) % 15 END,
       pg_temp.h(i, 9) % 180000,
       pecas, mao, pecas + mao,
       CASE WHEN pg_temp.h(i, 7) % 20 <> 0 THEN 'Fechada' ELSE 'Em andamento' END
FROM (SELECT i, date '2021-01-01' + pg_temp.h(i, 10) % 1840 AS abertura,
             pg_temp.money(i, 11, 50, 18000) AS pecas, pg_temp.money(i, 12, 80, 6000) AS mao
      FROM generate_series(1, {n_fat_manutencao_completa}) AS i) g;

-- hist_vida_veiculo_timeline: every vehicle's life, its purchase first --------------------------
INSERT INTO hist_vida_veiculo_timeline
SELECT i,
       pg_temp.placa(1 + (i - 1) % {n_dim_frota}),
       timestamp '2018-01-01 08:00' + ((i - 1) / {n_dim_frota}) * interval '75 days'
           + (pg_temp.h(i, 1) % 100000) * interval '1 minute',
       tipo,
       CASE tipo WHEN 'Compra' THEN 'Veículo adquirido e emplacado'
                 WHEN 'Entrega ao cliente' THEN 'Entrega com vistoria e termo assinado'
                 WHEN 'Manutenção' THEN 'Entrada em oficina credenciada'
                 WHEN 'Sinistro' THEN 'Sinistro comunicado à seguradora'
                 WHEN 'Troca de cliente' THEN 'Veículo realocado para outro contrato'
                 ELSE 'Veículo devolvido ao pátio' END,
       ((i - 1) / {n_dim_frota}) * 9000 + pg_temp.h(i, 2) % 9000,
       1 + pg_temp.h(i, 3) % {n_dim_clientes},
       CASE WHEN tipo IN ('Compra', 'Manutenção', 'Sinistro') THEN pg_temp.money(i, 4, 150, 250000) END
FROM (SELECT i, CASE WHEN i <= {n_dim_frota} THEN 'Compra'
                     ELSE pg_temp.pick(ARRAY['Entrega ao cliente', 'Manutenção', 'Manutenção',
                         'Sinistro', 'Troca de cliente', 'Devolução'], i, 5) END AS tipo
      FROM generate_series(1, {n_hist_vida_veiculo_timeline}) AS i) g;

RESET ROLE;
