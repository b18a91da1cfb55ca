"""Running the suite, above the benchmark (ARCHITECTURE.md, "Packages and arrows"): the command
line's plumbing (`commandline`: one-line errors, exit codes, printing; `environment`; the
`benchmark` command end to end, `benchmarking`), the team's MLflow server on a private PostgreSQL
(`server`, `private_postgres`), the speed harness (`speed`, `distributed_speed`), the reproduction
of the CSC413 table (`reproduce`) and the audit of a generator's training against its critic
score (`audit`)."""
