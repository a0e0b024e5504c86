# SPDX-License-Identifier: MIT
"""Builds the sharedmem Python package: two C extensions over the library's
public C API, and the library's shared objects bundled next to them.

Where the libraries come from:

- SHAREDMEM_BUILD_DIR set: a CMake build tree of this project (the ctest
  test `python.pytest` points it at the build it tests), used as it is, so
  that the package ships the very libraries that build produced and tested.
- otherwise: setup.py configures and builds the libraries itself with CMake
  (Release, tests, examples and the command off), in build/cmake here, from
  the library's sources: those the sdist carries in library/, or else those
  of the project this directory belongs to.

`setup.py sdist` puts those sources (CMakeLists.txt, cmake/, include/,
src/, platform/, LICENSE) into library/ of the archive, so that the sdist
builds outside the source tree.

The extensions link the libraries by soname (libsharedmem.so.1, ...) and find
them with RUNPATH $ORIGIN, the package's own directory; on Windows the
package adds its directory to the DLL search path before importing them.
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.sdist import sdist

PACKAGE_ROOT = Path(__file__).resolve().parent
WINDOWS = sys.platform == "win32"
# What the sdist carries of the project, below library/.
LIBRARY_FILES = ["CMakeLists.txt", "LICENSE", "cmake/*.cmake", "cmake/*.in", "cmake/*.map",
                 "include/**/*", "src/**/*", "platform/**/*"]


def library_root():
    """The library's sources: library/ in an sdist, else the project tree
    this directory belongs to."""
    bundled = PACKAGE_ROOT / "library"
    return bundled if (bundled / "CMakeLists.txt").is_file() else PACKAGE_ROOT.parent


PROJECT_ROOT = library_root()


def project_version():
    cmake_lists = PROJECT_ROOT / "CMakeLists.txt"
    match = re.search(r"project\(sharedmem VERSION (\d+\.\d+\.\d+)", cmake_lists.read_text())
    if not match:
        sys.exit(f"setup.py: {cmake_lists} does not declare project(sharedmem VERSION x.y.z); "
                 "build from the sharedmem source tree's python/ directory or from an sdist")
    return match.group(1)


def cmake_build_dir():
    """The CMake build tree holding the libraries: $SHAREDMEM_BUILD_DIR, or
    one this script configures and builds."""
    given = os.environ.get("SHAREDMEM_BUILD_DIR")
    if given:
        build = Path(given).resolve()
        if not (build / "CMakeCache.txt").is_file():
            sys.exit(f"setup.py: SHAREDMEM_BUILD_DIR={given} is not a CMake build tree "
                     "(no CMakeCache.txt)")
        return build
    build = PACKAGE_ROOT / "build" / "cmake"
    configure = ["cmake", "-S", str(PROJECT_ROOT), "-B", str(build),
                 "-DCMAKE_BUILD_TYPE=Release", "-DSHAREDMEM_BUILD_TESTS=OFF",
                 "-DSHAREDMEM_BUILD_EXAMPLES=OFF", "-DSHAREDMEM_BUILD_TOOLS=OFF",
                 "-DSHAREDMEM_INSTALL=OFF"]
    compile_ = ["cmake", "--build", str(build), "--config", "Release", "--parallel",
                "--target", "sharedmem", "sharedmem_setget"]
    for command in (configure, compile_):
        print("setup.py:", " ".join(command), flush=True)
        try:
            subprocess.run(command, check=True)
        except FileNotFoundError:
            sys.exit("setup.py: cmake not found; install CMake, a C++17 compiler and the Boost "
                     "headers (scripts/setup does it on Debian/Ubuntu)")
    return build


def source_dir_of(build):
    """The sources the build tree was configured from (its CMakeCache.txt):
    the headers must be those of the libraries that are bundled."""
    cache = (build / "CMakeCache.txt").read_text(errors="replace")
    match = re.search(r"^sharedmem_SOURCE_DIR:STATIC=(.*)$", cache, re.MULTILINE)
    return Path(match.group(1)) if match else PROJECT_ROOT


def files_named(build, name):
    """The files called `name` under `build`, outside CMakeFiles. Directories
    that vanish during the walk (scratch trees of tests running meanwhile,
    such as the consumer and package tests) are skipped, not an error."""
    for root, dirs, files in os.walk(build, onerror=lambda error: None):
        dirs[:] = [d for d in dirs if d != "CMakeFiles"]
        if name in files:
            yield Path(root) / name


def find_one(build, pattern):
    # The build's own output, the shallowest match: deeper copies are staged
    # installs (CPack's _CPack_Packages, the consumer tests' prefixes), which
    # may be left from an older build.
    found = sorted(files_named(build, pattern),
                   key=lambda p: (len(p.relative_to(build).parts), str(p)))
    if not found:
        sys.exit(f"setup.py: no {pattern} in {build}: build the targets sharedmem and "
                 "sharedmem_setget there first")
    return found[0]


class Libraries:
    """The files of one library in a build tree: what to link, what to ship."""

    def __init__(self, build, base):
        self.base = base
        if WINDOWS:
            self.runtime = find_one(build, f"{base}.dll")
            for name in (f"{base}.lib", f"lib{base}.dll.a"):
                candidates = sorted(
                    files_named(build, name),
                    key=lambda p: (len(p.relative_to(build).parts), str(p)))
                if candidates:
                    self.link = candidates[0]
                    break
            else:
                sys.exit(f"setup.py: no import library for {base} in {build}")
        else:
            # The soname file: what the extension's DT_NEEDED names.
            self.runtime = find_one(build, f"lib{base}.so.1")
            self.link = self.runtime


class BuildExtWithLibraries(build_ext):
    """build_ext that links the extensions to the project's libraries and
    copies those into the package."""

    def run(self):
        build = cmake_build_dir()
        include_dirs = [str(source_dir_of(build) / "include"), str(build / "include")]
        core = Libraries(build, "sharedmem")
        setget = Libraries(build, "sharedmem_setget")
        for extension in self.extensions:
            libraries = [core] if extension.name == "sharedmem._core" else [setget, core]
            extension.include_dirs = include_dirs + list(extension.include_dirs)
            # The library's headers too: a build tree's object is rebuilt
            # when the error table or the API changes, not only the .c.
            extension.depends = list(extension.depends) + [
                str(header) for directory in include_dirs
                for header in Path(directory).glob("sharedmem/*.h")]
            if WINDOWS:
                extension.library_dirs = [str(lib.link.parent) for lib in libraries]
                extension.libraries = [lib.base for lib in libraries]
            else:
                extension.extra_link_args = ([str(lib.link) for lib in libraries] +
                                             ["-Wl,-rpath,$ORIGIN"])
        super().run()
        destinations = [Path(self.build_lib) / "sharedmem"]
        if self.inplace:
            destinations.append(PACKAGE_ROOT / "sharedmem")
        for destination in destinations:
            destination.mkdir(parents=True, exist_ok=True)
            for lib in (core, setget):
                target = destination / lib.runtime.name
                print(f"setup.py: bundling {lib.runtime} as {target}", flush=True)
                shutil.copyfile(lib.runtime, target)  # the file itself, not a symlink


class SdistWithLibrary(sdist):
    """sdist that adds the library's sources, as library/."""

    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        root = library_root()
        for pattern in LIBRARY_FILES:
            for path in sorted(root.glob(pattern)):
                if path.is_file():
                    target = Path(base_dir) / "library" / path.relative_to(root)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(path, target)


def extension(name, sources):
    return Extension(
        name,
        sources=[f"src/{source}" for source in sources],
        depends=sorted(f"src/{header.name}" for header in (PACKAGE_ROOT / "src").glob("*.h")),
        # Hidden: the files of an extension call each other by plain names
        # (segment_open, ...), which must bind within the extension, not to a
        # symbol of the same name elsewhere in the process. PyInit_* is
        # exported all the same (PyMODINIT_FUNC says so).
        extra_compile_args=[] if WINDOWS else ["-std=c11", "-Wall", "-Wextra", "-O2",
                                               "-fvisibility=hidden"],
    )


# Each extension's C files (src/): _core one concern a file (core.c says
# which), the exception mapping errors.c shared by both.
CORE_SOURCES = ["core.c", "segment.c", "raw_segment.c", "mapping.c", "without_gil.c",
                "sliced_wait.c", "arguments.c", "errors.c"]
SETGET_SOURCES = ["setget.c", "errors.c"]


options = {}
if os.environ.get("SHAREDMEM_BUILD_DIR"):
    # setuptools' scratch files go into that build tree, not the source tree.
    options["build"] = {"build_base": str(Path(os.environ["SHAREDMEM_BUILD_DIR"]) / "python-build")}
    options["egg_info"] = {"egg_base": str(Path(os.environ["SHAREDMEM_BUILD_DIR"]))}

setup(
    version=project_version(),
    ext_modules=[extension("sharedmem._core", CORE_SOURCES),
                 extension("sharedmem._setget", SETGET_SOURCES)],
    cmdclass={"build_ext": BuildExtWithLibraries, "sdist": SdistWithLibrary},
    options=options,
    zip_safe=False,
)
