"""Bulk import of resource-platform exports (全业务地面接入资源管理系统).

Layers, each usable on its own:

* :mod:`importers.spec` — one spec per entity: columns, Chinese headers, parsers;
* :mod:`importers.readers` — folders of CSV, ZIPs and XLSX workbooks to tables of text;
* :mod:`importers.build` — validation and normalisation to Node / Rel records;
* :mod:`importers.core` — :func:`import_paths`, the one entry point for the CLI and web app.

The format is documented in ``docs/import-format.md``.
"""

from importers.core import ImportReport, import_paths

__all__ = ["ImportReport", "import_paths"]
