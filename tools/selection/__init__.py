"""Step 2, the selection: the boards the kit knows, the extensions an app needs, and what a build would freeze (sizes, checks)."""
