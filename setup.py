"""The one compiled module, the fast path of a first import (importers/_fastimport.c);
everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("importers._fastimport", ["importers/_fastimport.c"],
                             optional=True,  # without a C compiler: the Python importer
                             extra_compile_args=["-std=c11", "-Wall", "-Wextra",
                                                 "-Wno-unused-parameter"])])
