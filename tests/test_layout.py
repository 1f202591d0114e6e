"""The house is built the way DESIGN.md says: seven floors, each module importing only from its
own floor or the ones below, no import circles, matplotlib only in tinygan/viz, no two public
classes with one name, and the engine a student reads in one sitting (tensor.py + ops.py) under
700 lines. These read the source (ast); nothing is imported."""
import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "tinygan"

#: DESIGN.md's floors: a module may import from its floor and every floor below
FLOORS = {
    "backend": 1,
    "tensor": 2, "ops": 2,
    "functional": 3, "conv": 3, "fused": 3, "creation": 3, "init": 3, "optim": 3, "io": 3,
    "testing": 3,
    "nn": 4, "data": 4,
    "gan": 5, "games": 5, "divergences": 5, "metrics": 5, "viz": 5,
    "experiments": 6,
    "runs": 7, "sweep": 7, "cli": 7, "book": 7, "__main__": 7,
}


def modules():
    """{dotted name: path} of every module of the package."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports(name: str, path: Path, top_level_only: bool = False):
    """(line, imported tinygan module) for each import in a module; with top_level_only, only
    the imports run when the module is loaded (not those inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    nodes = tree.body if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "tinygan":
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "tinygan":
                continue
            known = modules()
            for alias in node.names:  # `from . import backend` imports a module
                sub = f"{target}.{alias.name}"
                yield node.lineno, sub if sub in known else target


def floor(module: str) -> int | None:
    parts = module.split(".")
    return FLOORS.get(parts[1]) if len(parts) > 1 else None


def test_every_module_has_a_floor():
    missing = [m for m in modules() if m != "tinygan" and floor(m) is None]
    assert not missing, f"modules DESIGN.md's floors do not place: {missing}"


def test_no_module_imports_from_a_floor_above_its_own():
    upward = []
    for name, path in modules().items():
        mine = floor(name)
        if mine is None:  # the package's __init__ re-exports the engine's names
            continue
        for line, target in imports(name, path):
            theirs = floor(target)
            if theirs is not None and theirs > mine:
                upward.append(f"{path.relative_to(PACKAGE.parent)}:{line} (floor {mine}) imports "
                              f"{target} (floor {theirs})")
    assert not upward, "\n".join(upward)


def import_graph() -> dict:
    """{module: modules it imports when loaded}; a package's own submodules are not edges of
    its __init__ (loading them from it is not a circle)."""
    known = modules()
    graph = defaultdict(set)
    for name, path in known.items():
        for _, target in imports(name, path, top_level_only=True):
            while target not in known and "." in target:
                target = target.rsplit(".", 1)[0]
            if target != name and not target.startswith(name + "."):
                graph[name].add(target)
    return graph


def cycles(graph) -> list:
    """Every circle a depth-first walk of `graph` meets, as a list of modules."""
    state, found = {}, []

    def visit(node, trail):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                found.append(trail[trail.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def test_no_import_circles():
    graph = import_graph()
    assert sum(len(v) for v in graph.values()) > 50  # the walk saw the real imports
    assert cycles(graph) == []
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


def test_matplotlib_only_in_viz():
    found = []
    for name, path in modules().items():
        if name.startswith("tinygan.viz"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n.split(".")[0] == "matplotlib" for n in names):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert not found, f"matplotlib imported outside tinygan/viz: {found}"


def test_no_two_public_classes_share_a_name():
    """Autograd steps (Function subclasses) are named after their math and may share a name
    with the Module that uses them (tensor.Tanh and nn.Tanh, conv.ConvNd and nn.Conv2d), as
    PyTorch's autograd Functions and Modules do; no other two public classes may."""
    where = defaultdict(list)
    for name, path in modules().items():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            bases = {getattr(b, "id", getattr(b, "attr", "")) for b in getattr(node, "bases", [])}
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_") and \
                    "Function" not in bases:
                where[node.name].append(name)
    shared = {k: v for k, v in where.items() if len(v) > 1}
    assert not shared, f"public classes defined twice: {shared}"


def test_the_engine_fits_its_budget():
    lines = sum(len((PACKAGE / f).read_text(encoding="utf-8").splitlines())
                for f in ("tensor.py", "ops.py"))
    assert lines <= 700, f"tensor.py + ops.py have {lines} lines; DESIGN.md's budget is 700"


def test_every_module_says_what_it_holds():
    bare = [name for name, path in modules().items()
            if ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) is None]
    assert not bare, f"modules without a docstring: {bare}"
