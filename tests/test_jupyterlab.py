"""The JupyterLab walkthrough as a reader runs it: JupyterLab in Debian's chromium (driven by Playwright), each
notebook opened, Run > Run All Cells on its parameters cell's defaults (the toy pets), then saved.

Asserted: no error and no stderr output, every cell that draws a figure in the committed notebook draws one here,
and the clone is left as it was, except for the notebooks the reader saved, whose sources are unchanged (saving
a notebook writes its new outputs into it; nothing else is written outside untracked folders).
Screenshots: LABSEG_SCREENSHOT_DIR=docs/screenshots keeps one per notebook (the README's)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from servers import free_port, wait_until_serving

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # the test skips without playwright
    PlaywrightTimeout = TimeoutError

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = ("01_data", "02_unet", "04_flip_ablation")


def tracked_copy(dst: Path) -> Path:
    """A git repository holding the tracked files of this working tree (what a clone of it would hold)."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, files):
        src = REPO / name.decode()
        if src.is_file():
            (dst / name.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / name.decode())
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "clone"]):
        subprocess.run(["git", *cmd], cwd=dst, check=True, env=env, capture_output=True)
    return dst


def source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def figure_cells(nb: dict) -> list[int]:
    """Indices of the code cells that show an image in ``nb``."""
    return [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
            and any("image/png" in o.get("data", {}) for o in c.get("outputs", []))]


@pytest.fixture
def jupyterlab(tmp_path):
    if not shutil.which("chromium"):
        pytest.skip("Debian's chromium is not installed (`apt-get install chromium`; .ci/run installs it)")
    pytest.importorskip("playwright.sync_api")
    clone = tracked_copy(tmp_path / "clone")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("LABSEG_NOTEBOOK_OVERRIDES", "MPLBACKEND")}
    env.update(PYTHONPATH=str(clone), JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"),
               JUPYTER_DATA_DIR=str(tmp_path / "jupyter-data"), JUPYTER_RUNTIME_DIR=str(tmp_path / "jupyter-runtime"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"))
    labconfig = tmp_path / "jupyter-config" / "labconfig"
    labconfig.mkdir(parents=True)  # no "Would you like to get notified about Jupyter news?" toast in the screenshots
    (labconfig / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    # Every cell in the DOM (JupyterLab 4 renders only the cells in view by default): their prompts tell when Run
    # All has finished.
    settings = tmp_path / "lab-settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    env["JUPYTERLAB_SETTINGS_DIR"] = str(tmp_path / "lab-settings")
    log = open(tmp_path / "jupyter.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
                               f"--port={port}", "--IdentityProvider.token=", "--ServerApp.password=", "--allow-root",
                               "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={clone}"],
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{url}/api/status", server, tmp_path / "jupyter.log", seconds=60)
        yield url, clone
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def run_all_and_save(page, url: str, name: str, timeout_s: float) -> dict:
    """Open notebooks/<name>.ipynb, Run All Cells, wait for every cell to finish, save; the page's counts."""
    page.goto(f"{url}/lab/tree/notebooks/{name}.ipynb?reset")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    choose = page.get_by_role("button", name="Select", exact=True)  # "Select Kernel" for a notebook from disk
    try:
        choose.wait_for(timeout=10_000)
        choose.click()
    except PlaywrightTimeout:
        pass
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
    prompts = page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt")
    page.get_by_role("menuitem", name="Edit", exact=True).click()  # the committed outputs go first: what is
    page.get_by_role("menuitem", name="Clear Outputs of All Cells", exact=True).click()  # shown is this run's
    page.wait_for_function("() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]"
                           ".every(p => !/[0-9]/.test(p.textContent))", timeout=30_000)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    n = page.locator(".jp-Notebook .jp-CodeCell").count()
    deadline = time.time() + timeout_s
    # every code cell shows an execution count once it has run: "[12]:" (queued or running cells show "[*]:")
    while time.time() < deadline:
        texts = prompts.all_inner_texts()
        if len(texts) == n and all(t.strip().strip("[]:").isdigit() for t in texts):
            break
        time.sleep(1)
    else:
        pytest.fail(f"{name}: Run All did not finish within {timeout_s:.0f} s")
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
    page.keyboard.press("Control+s")
    page.wait_for_function("() => !document.querySelector('.jp-mod-current.jp-mod-dirty')", timeout=30_000)
    return {"stderr": page.locator("[data-mime-type='application/vnd.jupyter.stderr']").count(),
            "images": page.locator(".jp-OutputArea-output img").count()}


@pytest.mark.slow
def test_run_all_in_jupyterlab_is_clean_and_leaves_the_clone_as_it_was(jupyterlab, tmp_path):
    from playwright.sync_api import sync_playwright

    url, clone = jupyterlab
    committed = {name: json.loads((REPO / "notebooks" / f"{name}.ipynb").read_text()) for name in NOTEBOOKS}
    shots = Path(os.environ["LABSEG_SCREENSHOT_DIR"]) if os.environ.get("LABSEG_SCREENSHOT_DIR") else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    seen = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for name in NOTEBOOKS:
            t0 = time.perf_counter()
            seen[name] = run_all_and_save(page, url, name, timeout_s=900)
            seen[name]["seconds"] = round(time.perf_counter() - t0)
            page.screenshot(path=str(shots / f"jupyterlab-{name}.png"))
            page.get_by_role("menuitem", name="Kernel", exact=True).click()
            page.get_by_role("menuitem", name="Shut Down Kernel", exact=True).click()
        browser.close()
    print(f"JupyterLab Run All (toy defaults): {seen}")
    for name in NOTEBOOKS:
        saved = json.loads((clone / "notebooks" / f"{name}.ipynb").read_text())
        outputs = [o for c in saved["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
        printed = "".join(source({"source": o.get("text", "")}) for o in outputs)
        assert "runs/notebooks/results" in printed and "oxford-pet-subset" not in printed, name  # this run's output
        assert not [o for o in outputs if o["output_type"] == "error"], name
        assert not [o for o in outputs if o.get("name") == "stderr"], (name, [o["text"] for o in outputs
                                                                             if o.get("name") == "stderr"])
        assert seen[name]["stderr"] == 0, name
        missing = set(figure_cells(committed[name])) - set(figure_cells(saved))
        assert not missing, f"{name}: cells {sorted(missing)} drew no figure"
        assert [source(c) for c in saved["cells"]] == [source(c) for c in committed[name]["cells"]], name
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=clone, capture_output=True,
                            text=True, check=True).stdout.splitlines()
    assert sorted(status) == sorted(f" M notebooks/{name}.ipynb" for name in NOTEBOOKS), status
