"""Command-line tools of the Microdot firmware kit: each module is importable and has a small main()."""
