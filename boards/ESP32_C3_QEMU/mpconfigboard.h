// The kit's ESP32_C3_QEMU board: a generic ESP32-C3 module (4 MiB flash) as Espressif's QEMU
// emulates it. The console is UART0, which QEMU connects to a pty or a TCP port.

#ifndef MICROPY_HW_BOARD_NAME
#define MICROPY_HW_BOARD_NAME               "ESP32-C3 under QEMU"
#endif
#define MICROPY_HW_MCU_NAME                 "ESP32-C3"

#define MICROPY_HW_ENABLE_UART_REPL         (1)
