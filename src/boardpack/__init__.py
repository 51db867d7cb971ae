"""The board-pack build tool: validation, the build and publishing.

Imports :mod:`helpers` (and :mod:`sampledata` for ``boardpack sample-data``); neither imports this
package.
"""

import sys

# nbformat imports jsonschema, which imports rfc3987_syntax when it is installed (jupyter-events
# pulls it in); that module compiles ~40 lark grammars at import, 1.5-3 s in every process
# (python-jsonschema/jsonschema#1392, #1428). Notebook validation checks no IRI formats, so the
# build's processes go without it. Kernels and JupyterLab are not affected.
sys.modules.setdefault("rfc3987_syntax", None)
