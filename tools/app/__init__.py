"""Step 1, the app: what an app brings besides its code (precompiled templates)."""
