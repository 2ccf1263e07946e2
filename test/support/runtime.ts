// Test helper: which Node-RED the specs run against. CI sets NODE_RED_DIR to run them again under Node-RED 5.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

/** Directory of the node-red package: $NODE_RED_DIR (see .ci/run), else the devDependency. */
export const NODE_RED_DIR = process.env.NODE_RED_DIR ? resolve(process.env.NODE_RED_DIR) : dirname(require.resolve('node-red/package.json'));

/** The runtime module, as node-red-node-test-helper's init() wants it. */
export const NODE_RED_MAIN = require.resolve(NODE_RED_DIR);

/** The command a user runs as `node-red`. */
export const NODE_RED_CLI = join(NODE_RED_DIR, 'red.js');

export const NODE_RED_VERSION = (JSON.parse(readFileSync(join(NODE_RED_DIR, 'package.json'), 'utf8')) as { version: string }).version;

const runtimeRequire = createRequire(join(NODE_RED_DIR, 'package.json'));

/** The messaging-hooks registry of that runtime (its own @node-red/util, not the devDependency's). */
export const runtimeHooks = (runtimeRequire('@node-red/util') as typeof import('@node-red/util')).hooks;

/** A core node module of that runtime, e.g. `core/function/10-function.js`. */
export const coreNode = (file: string): unknown => runtimeRequire(`@node-red/nodes/${file}`);
