"""Step 3, the manifest: what a build freezes (the generated FROZEN_MANIFEST and its file list), and the check of it before a build (mpy-cross sizes)."""
