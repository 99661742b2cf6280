"""The kit's commands, one package per step of the flow (docs/architecture.md draws it):

app -> selection -> manifest -> build -> firmware/ -> device (flash, deploy, ota) -> targets -> suite

Each module is importable and has a small ``main(argv=None) -> int``; run it as
``python -m tools.<step>.<module>`` (the Makefile's targets do).
"""
