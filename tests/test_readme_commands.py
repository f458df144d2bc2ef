"""The README's two commands are what the project runs: CI's .ci/run is the test command."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    """The lines of the bash blocks under '## Two commands' (up to the next section), as written."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_ci_runs_the_readme_test_command_word_for_word():
    readme = readme_commands()
    assert readme == ["./dev lab", "./dev test"]                # two bare commands, nothing else
    test = readme[1]
    run = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    commands = [l.strip() for l in run if l.strip() and not l.lstrip().startswith("#")]
    assert commands[-1] == test                      # the last thing CI does is the README's command
    assert (ROOT / ".ci" / "run").stat().st_mode & 0o111     # and it is executable
