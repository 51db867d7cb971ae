"""The board-pack build tool: validation, the build and publishing.

Imports :mod:`helpers` (and :mod:`sampledata` for ``boardpack sample-data``); neither imports this
package.
"""
