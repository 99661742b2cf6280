# The kit's boot.py, frozen into the firmware by the wifi fragment. A frozen boot.py runs
# instead of the one on the filesystem, so it runs /boot.py first (yours, with the block
# `make wifi` adds), then joins the stored network. It never blocks: MicroPython also runs
# boot.py at the soft reset mpremote makes in its raw REPL (`make wifi`, `make deploy`,
# `mpremote cp`), which would wait forever for a server started here. The set-up portal and
# the wait for a first app run from the kit's main.py, which only a normal boot runs.
try:
    import kitnet
    import kitstart
except ImportError:
    pass
else:
    kitnet.run_file("boot.py")
    kitstart.start(portal=False)
