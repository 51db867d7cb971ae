"""The board-pack build tool: validation, sample data, the build and publishing.

Imports :mod:`helpers`; ``helpers`` never imports this package.
"""
