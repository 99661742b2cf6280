"""Step 5, the device: write firmware/<BOARD>/ to a board (flash), put an app on it (deploy over USB, ota over Wi-Fi), store its Wi-Fi."""
