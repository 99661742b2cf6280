"""The project's own tooling: set-up, test runners, the parity oracle, workflow lint, help, clean."""
