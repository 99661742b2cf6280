"""Step 4, the build: turn a selection and its manifest into firmware/<BOARD>/, in Docker or on the host."""
