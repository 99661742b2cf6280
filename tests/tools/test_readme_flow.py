"""README.md's board flow, read as a script: every command in it is a make target that exists
and expands to the kit tool it names (make -n). The steps themselves run for real elsewhere:
deploy over a serial board (tests/examples/test_board_families.py), run BOARD=X on the virtual
board (same file), test-hw DEVICE= preflight (tests/tools/test_smoke.py)."""
import re
import shlex
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def flow_commands(heading="## The real flow"):
    text = (ROOT / "README.md").read_text()
    section = text[text.index(heading):]
    block = section[section.index("```sh") + 5:]
    block = block[:block.index("```")]
    cmds = []
    for line in block.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            cmds.append(line.replace("<board-ip>", "127.0.0.1").replace("<token>", "a-token-for-the-test"))
    return cmds


def test_readme_shows_the_cable_free_path_beside_the_cable_path():
    cmds = " ; ".join(flow_commands("### Cable-free after the first flash"))
    for step in ("firmware OTA=1", "flash", "make ota DEVICE=", "APP=", "FIRMWARE=1"):
        assert step in cmds, step
    for cmd in flow_commands("### Cable-free after the first flash"):
        proc = subprocess.run(["make", "-n"] + shlex.split(cmd)[1:], cwd=str(ROOT), capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 0 and "-m tools." in proc.stdout, (cmd, proc.stderr)
        if "OTA=1" in cmd:
            assert "--ota" in proc.stdout, cmd
        if "FIRMWARE=1" in cmd:
            assert "--firmware" in proc.stdout and '--token "a-token-for-the-test"' in proc.stdout, cmd


def test_readme_flow_has_the_steps_a_board_needs():
    cmds = " ; ".join(flow_commands())
    for step in ("make boards", "firmware", "flash", "make wifi", "make deploy APP=", "make test-hw PORT=",
                 "make test-hw DEVICE=", "make run APP="):
        assert step in cmds, step


def test_every_flow_command_expands_to_a_kit_tool():
    for cmd in flow_commands():
        argv = shlex.split(cmd)
        assert argv[0] == "make", cmd
        proc = subprocess.run(["make", "-n"] + argv[1:], cwd=str(ROOT), capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 0, (cmd, proc.stderr)
        tools = re.findall(r"-m tools\.([\w.]+)", proc.stdout)
        assert tools, (cmd, proc.stdout)
        for name in tools:
            module = ROOT / "tools" / name.replace(".", "/")
            assert module.with_suffix(".py").is_file() or (module / "__main__.py").is_file(), name
        for arg in argv[1:]:
            if arg.startswith("PORT="):
                assert "--port " + arg[5:] in proc.stdout, cmd
            if arg.startswith("APP="):
                assert "--app " + arg[4:] in proc.stdout, cmd
            if arg.startswith("DEVICE="):
                assert "--device " + arg[7:] in proc.stdout, cmd
