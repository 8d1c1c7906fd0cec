"""The Supabase side beyond SQL: its HTTP APIs, the dashboard connection string, the app's
generated code, the clientes backup."""
