"""Step 6, the targets: a board to run an app on - the virtual board (unix port), the emulated chips (QEMU), a live board."""
