"""The package's imports, read from the source (ast, imports inside functions included): no circle, no import that
runs back up the layers of docs/architecture.md, and no library module that imports a tool (labseg/tools)."""
import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "labseg"

# docs/architecture.md's layers, lowest first: a module imports from its own layer or the ones below it
LAYERS = {
    "foundations": ["config", "labels", "errors", "device", "outputs", "saved_masks", "synthetic", "ema", "swa",
                    "machine_load", "paths"],
    "data": ["data", "download", "subset", "transforms", "batch_augment"],
    "networks": ["models", "models.parts", "models.unet", "models.decoder", "models.weights", "models.resnet_unet",
                 "models.vgg_unet", "models.seed_resnet_unet", "losses", "metrics", "checkpoint", "shipped",
                 "onnx_export"],
    "training and inference": ["inference", "batches", "optim", "run_folder", "tensorboard_log", "engine",
                               "experiments", "fullsize", "predict", "cost"],
    "studies": ["study_files", "study_arms", "results", "stats", "recipe_choice", "dataset_stats", "figures", "study",
                "study_runs", "executors", "cluster", "budget_study", "recipe_study",
                "resnet_recipe_study", "recipe_check", "recipe_candidates"],
    "documents and commands": ["prose", "document", "report", "pipeline", "app", "cli", "cli_study", "__main__"],
}


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The package modules that ``name`` imports anywhere in its source (relative or absolute)."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            elif (node.module or "").startswith("labseg"):
                module = node.module.removeprefix("labseg").lstrip(".")
            else:
                continue
            candidates = [module] + [f"{module}.{a.name}".lstrip(".") for a in node.names]
        elif isinstance(node, ast.Import):
            candidates = [a.name.removeprefix("labseg").lstrip(".") for a in node.names if a.name.startswith("labseg")]
        else:
            continue
        found |= {c for c in candidates if c in known and c != name}
    return found


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports_of(name, path, set(found)) for name, path in found.items()}


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_the_circle_finder_finds_a_circle():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle():
    assert circles(graph()) == []


def test_every_module_has_a_layer_or_is_a_tool():
    placed = {m for layer in LAYERS.values() for m in layer}
    unplaced = [m for m in modules() if m and m not in placed and not m.startswith("tools")]
    assert unplaced == [], f"give these modules a layer in LAYERS and docs/architecture.md: {unplaced}"


def test_no_import_runs_back_up_the_layers():
    rank = {m: i for i, layer in enumerate(LAYERS.values()) for m in layer}
    upward = [f"{m} -> {t}" for m, targets in graph().items() if m in rank
              for t in sorted(targets) if t in rank and rank[t] > rank[m]]
    assert upward == []


@pytest.mark.parametrize("layer", list(LAYERS))
def test_the_library_never_imports_a_tool(layer):
    edges = graph()
    assert [f"{m} -> {t}" for m in LAYERS[layer] for t in sorted(edges.get(m, ())) if t.startswith("tools")] == []


def test_the_architecture_page_names_every_layer_and_module():
    page = (PACKAGE.parent / "docs" / "architecture.md").read_text()
    diagram = page.split("```")[1]  # the picture of the layers
    missing = [m for layer in LAYERS.values() for m in layer if m in modules()
               and not re.search(rf"(?<![\w.]){re.escape(m.split('.')[-1])}(?![\w.])", diagram)]
    assert [layer for layer in LAYERS if layer not in diagram] == [] and missing == []
