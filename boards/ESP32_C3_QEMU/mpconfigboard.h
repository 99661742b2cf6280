// The kit's ESP32_C3_QEMU board: a generic ESP32-C3 module (4 MiB flash) as Espressif's QEMU
// emulates it. The console is UART0, which QEMU connects to a pty or a TCP port.

#ifndef MICROPY_HW_BOARD_NAME
#define MICROPY_HW_BOARD_NAME               "ESP32-C3 under QEMU"
#endif
#define MICROPY_HW_MCU_NAME                 "ESP32-C3"

#define MICROPY_HW_ENABLE_UART_REPL         (1)

// ROMFS (docs/romfs.md): MicroPython mounts the "romfs" partition at /rom at start-up and puts
// /rom and /rom/lib on sys.path; .mpy files there execute in place from flash.
#define MICROPY_VFS_ROM                     (1)
