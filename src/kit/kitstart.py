"""kitstart - the board's start-up: join, set-up portal, app or the wait for a first app.

The top layer of the board runtime (src/kit/): it imports :mod:`kitnet` and :mod:`kitsafe`
(network, settings, start-up safety: the bottom), :mod:`kitportal` and :mod:`kitota` (the middle); no kit module imports it, only
the kit's frozen ``boot.py`` and ``main.py`` (and an app that brings its own main.py)::

    import kitstart
    kitstart.start()          # join; without a network, the set-up portal (ends in a restart)

The frozen ``boot.py`` runs ``/boot.py`` with :func:`kitnet.run_file` and joins with
``start(portal=False)``; the frozen ``main.py`` runs :func:`run_main`. An app frozen with
``FREEZE_MAIN=1`` replaces the kit's ``main.py`` and calls :func:`start` itself if it wants
the portal.
"""
import kitnet


def start(portal=True, path=None):
    """Join the stored network (unless :func:`kitnet.connect` already ran since boot); when
    there is none or it failed, run the set-up portal, which ends in a restart. Returns the
    address.

    With credentials stored but failing, the portal gives up after ``kitportal.RETRY_AFTER``
    seconds and restarts, so a router that was only down is joined again.
    """
    path = path or kitnet.CONFIG
    address = kitnet._ip if kitnet._tried else kitnet.connect(path=path)
    if address is not None or not portal:
        return address
    try:
        import kitportal
        import network
    except ImportError:
        return None
    if not hasattr(network, "AP_IF"):
        return None  # no Wi-Fi radio (e.g. QEMU's Ethernet-only firmware): nothing to set up
    try:
        stored = kitnet.load(path) is not None
    except ValueError:
        stored = False
    kitportal.run(retry=stored, path=path)
    return None


def run_main(main="main.py"):
    """What the kit's frozen main.py does after a normal boot: :func:`kitsafe.boot` (count the
    start, roll back an update that never confirmed itself), the set-up portal when the board is
    not on a network (it ends in a restart), then ``main``, the app, watched by kitsafe: when it
    raises (also MemoryError) the traceback goes to the crash log, an update on probation is
    rolled back, and the board restarts. With no app yet, or in safe mode (too many failed
    starts), the ota extension's wait for `make ota` (:func:`kitota.serve`)."""
    import kitsafe

    why = kitsafe.boot(main)
    if start() is None:
        print("kitstart: not on a network; starting %s anyway" % main)
    if why is None and kitsafe._exists(main):
        try:
            kitsafe.watch()  # counts the start; a watchdog timeout the port refuses is a failed one
            kitnet.run_file(main)
            return
        except Exception as exc:  # MemoryError too; SystemExit and KeyboardInterrupt pass
            kitsafe.failed(exc)  # logs, rolls back an update on probation, restarts
    try:
        import kitota
    except ImportError:
        return
    kitota.serve(why=why)
