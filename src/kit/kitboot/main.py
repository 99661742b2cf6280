# The kit's main.py, frozen with boot.py by the wifi fragment. It runs instead of /main.py,
# and only after a normal boot (not at mpremote's raw-REPL soft reset, so a portal or a wait
# started here never locks out `make wifi` or `make deploy`): kitstart.run_main() opens the
# set-up portal when the board is not on a network, then runs /main.py as MicroPython would,
# or without one waits for `make ota` to send it. An app frozen with FREEZE_MAIN=1 replaces it.
try:
    import kitstart
except ImportError:
    pass
else:
    kitstart.run_main()
