-- Local DW: foreign keys and indexes added after the bulk load (one validation scan each instead
-- of a trigger per row), then statistics. Run as `postgres` in bluconecta_dw.
SET ROLE etl_bluconecta;
ALTER TABLE dim_frota ADD CONSTRAINT dim_frota_cliente_fk
    FOREIGN KEY (cliente_codigo) REFERENCES dim_clientes (codigo_cliente);
ALTER TABLE dim_contratos_locacao ADD CONSTRAINT dim_contratos_cliente_fk
    FOREIGN KEY (cliente_codigo) REFERENCES dim_clientes (codigo_cliente);
ALTER TABLE dim_itens_contrato ADD CONSTRAINT dim_itens_contrato_fk
    FOREIGN KEY (id_contrato) REFERENCES dim_contratos_locacao (id_contrato);
ALTER TABLE fat_faturamentos ADD CONSTRAINT fat_faturamentos_contrato_fk
    FOREIGN KEY (id_contrato) REFERENCES dim_contratos_locacao (id_contrato);
CREATE INDEX dim_frota_cliente_idx ON dim_frota (cliente_codigo);
CREATE INDEX fat_faturamentos_emissao_idx ON fat_faturamentos (data_emissao);
CREATE INDEX fat_faturamentos_cliente_idx ON fat_faturamentos (cliente_codigo);
CREATE INDEX hist_vida_placa_idx ON hist_vida_veiculo_timeline (placa, data_evento);
RESET ROLE;
ANALYZE;
