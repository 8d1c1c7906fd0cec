"""The rehearsal and test bed: real PostgreSQL clusters (pgcluster), the two-cluster bed (bed),
the demo sandbox, the Supabase API stand-in (standin), and the network fakes on loopback
(latency_proxy, blackhole, partition). Nothing here runs against a customer's servers."""
