// SPDX-License-Identifier: MIT
// npm's prepack step: puts the addons and the shared libraries they link into
// lib/<platform>-<arch>/, where index.js loads them, so that `npm pack` packs
// a package that installs with no compiler and no network.
//
// Where they come from:
// - SHAREDMEM_BUILD_DIR set: a CMake build tree of this project configured
//   with SHAREDMEM_NODE=ON and built (the ctest test node.pack points it at
//   the build it tests), used as it is;
// - otherwise: this script configures and builds one with CMake from the
//   project this directory belongs to (Release, tests off), in build/cmake.
// Either way the build tree has staged the package in
// <build>/node/node_modules/sharedmem; its lib/ is copied here whole.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const packageDir = path.resolve(__dirname, '..');
const manifest = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8'));

function fail(message) {
  console.error(`build.js: ${message}`);
  process.exit(1);
}

function run(command, args) {
  console.error(`build.js: ${command} ${args.join(' ')}`);
  try {
    execFileSync(command, args, { stdio: 'inherit' });
  } catch (error) {
    fail(error.code === 'ENOENT'
      ? `${command} not found: install CMake, a C++17 compiler and the Boost headers ` +
        '(./scripts/setup does it on Debian/Ubuntu)'
      : `${command} failed (${error.status})`);
  }
}

function buildTree() {
  const given = process.env.SHAREDMEM_BUILD_DIR;
  if (given) {
    if (!fs.existsSync(path.join(given, 'CMakeCache.txt')))
      fail(`SHAREDMEM_BUILD_DIR=${given} is not a CMake build tree (no CMakeCache.txt)`);
    return path.resolve(given);
  }
  const projectDir = path.dirname(packageDir);
  if (!fs.existsSync(path.join(projectDir, 'CMakeLists.txt')))
    fail('this directory is not inside the sharedmem source tree, and SHAREDMEM_BUILD_DIR is not set');
  const build = path.join(packageDir, 'build', 'cmake');
  run('cmake', ['-S', projectDir, '-B', build, '-DCMAKE_BUILD_TYPE=Release', '-DSHAREDMEM_NODE=ON',
                '-DSHAREDMEM_BUILD_TESTS=OFF', '-DSHAREDMEM_BUILD_EXAMPLES=OFF', '-DSHAREDMEM_BUILD_TOOLS=OFF',
                '-DSHAREDMEM_INSTALL=OFF']);
  run('cmake', ['--build', build, '--config', 'Release', '--parallel',
                '--target', 'sharedmem_node', 'sharedmem_node_setget']);
  return build;
}

const build = buildTree();
const staged = path.join(build, 'node', 'node_modules', 'sharedmem');
const stagedManifest = path.join(staged, 'package.json');
if (!fs.existsSync(stagedManifest))
  fail(`${build} has no staged Node.js package: configure it with -DSHAREDMEM_NODE=ON (and node-addon-api ` +
       'in node/node_modules: npm ci) and build the targets sharedmem_node and sharedmem_node_setget');
const stagedVersion = JSON.parse(fs.readFileSync(stagedManifest, 'utf8')).version;
if (stagedVersion !== manifest.version)
  fail(`${build} was built for version ${stagedVersion}, this package is ${manifest.version}`);
const addon = path.join(staged, 'lib', `${process.platform}-${process.arch}`, 'sharedmem.node');
if (!fs.existsSync(addon)) fail(`${addon} is missing: build the targets sharedmem_node and sharedmem_node_setget`);

const lib = path.join(packageDir, 'lib');
fs.rmSync(lib, { recursive: true, force: true });
fs.cpSync(path.join(staged, 'lib'), lib, { recursive: true, dereference: true });
for (const platform of fs.readdirSync(lib))
  console.error(`build.js: lib/${platform}: ${fs.readdirSync(path.join(lib, platform)).join(', ')}`);
