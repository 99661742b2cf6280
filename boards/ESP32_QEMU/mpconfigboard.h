// The kit's ESP32_QEMU board: a generic ESP32 module (Xtensa LX6, 4 MiB flash) as Espressif's
// QEMU emulates it (machine esp32). The console is UART0, which QEMU connects to a pty or a TCP port.

#ifndef MICROPY_HW_BOARD_NAME
#define MICROPY_HW_BOARD_NAME               "ESP32 under QEMU"
#endif
#define MICROPY_HW_MCU_NAME                 "ESP32"
