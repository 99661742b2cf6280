# The kit's boot.py, frozen into the firmware by the wifi fragment. A frozen boot.py runs
# instead of the one on the filesystem, so it runs /boot.py first (yours, with the block
# `make wifi` adds), then kitnet.start(): join the stored network, or open the set-up portal
# (microdot-XXXX) when there is none or it failed. Without a main.py yet, a firmware with the
# ota extension waits for `make ota` to send the first app. main.py runs afterwards as usual.
try:
    _f = open("boot.py")
except OSError:
    _f = None
if _f is not None:
    _src = _f.read()
    _f.close()
    exec(_src)
    del _src
del _f
try:
    import kitnet
except ImportError:
    pass
else:
    if kitnet.start() is not None:
        try:
            import kitota
        except ImportError:
            pass
        else:
            kitota.serve()
