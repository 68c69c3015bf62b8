"""The package's folders are layers: each imports only the layers below it, and no module imports itself back."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "tap_intercom"
# what each folder may import besides itself (tap_intercom.errors and tap_intercom.config are everyone's)
ALLOWED = {
    "records": set(),
    "http": {"records"},
    "reading": {"records", "http"},
    "engine": {"records", "http", "reading"},
    "switching": {"records"},
}


def imports(path):
    """The tap_intercom modules a file imports (lazy imports inside functions too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tap_intercom"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("tap_intercom"))
    modules = {p.relative_to(PACKAGE.parent).with_suffix("").as_posix().replace("/", ".") for p in
               PACKAGE.rglob("*.py")}
    modules = {m[:-len(".__init__")] if m.endswith(".__init__") else m for m in modules}
    return {name for name in found if name in modules and name != "tap_intercom"}


def module_name(path):
    name = path.relative_to(PACKAGE.parent).with_suffix("").as_posix().replace("/", ".")
    return name[:-len(".__init__")] if name.endswith(".__init__") else name


def test_each_folder_imports_only_the_layers_below_it():
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).parts
        if len(parts) < 2 or parts[0] == "schemas":
            continue
        folder = parts[0]
        for name in imports(path):
            target = name.split(".")[1]
            if target not in (folder, "errors", "config") and target not in ALLOWED[folder]:
                wrong.append(f"{module_name(path)} imports {name}")
    assert not wrong, wrong


def assert_no_circle(graph):
    """No module of `graph` ({module: modules it imports}) imports itself back, however indirectly (a package
    importing its own submodule is not a circle)."""
    state = {}

    def visit(node, trail):
        if state.get(node) == "done":
            return
        assert state.get(node) != "open", " -> ".join(trail + [node])
        state[node] = "open"
        for nxt in graph.get(node, ()):
            if nxt.rsplit(".", 1)[0] == node or nxt == node:
                continue
            visit(nxt, trail + [node])
        state[node] = "done"

    for node in graph:
        visit(node, [])


def test_no_import_circle():
    assert_no_circle({module_name(p): imports(p) for p in PACKAGE.rglob("*.py") if "schemas" not in p.parts})


def test_every_folder_says_what_it_holds_and_may_import():
    for folder in ALLOWED:
        doc = ast.get_docstring(ast.parse((PACKAGE / folder / "__init__.py").read_text()))
        assert doc and "import" in doc.lower(), folder


EMULATOR = PACKAGE.parent / "intercom_emulator"


def emulator_imports(path):
    """The emulator modules a file imports with `from .x import ...` or `from . import x` (lazy ones too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found.update([node.module] if node.module else [alias.name for alias in node.names])
    return found


def test_emulator_has_no_import_circle():
    """The routing table (api.py) imports the route modules; they import what they answer with (answers.py),
    never the table back."""
    assert_no_circle({p.stem: emulator_imports(p) for p in EMULATOR.glob("*.py")})
