// Installs the bench-only node types (bench/nodes/) into a Node-RED user directory, where the runtime scans for nodes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Node type -> its module in bench/nodes/. */
const BENCH_NODES: Record<string, string> = {
  'bench-count': 'light-sink.ts',
  'bench-thin-in': 'thin-in.ts',
  'bench-noop-hooks': 'noop-hooks.ts',
};

/**
 * Node-RED loads only `.js` files with an `.html` beside them from `<userDir>/nodes`; each stub
 * requires the TypeScript module, which works because the consumer process runs under tsx.
 * They never ship: the package's node list names dist/durable-mqtt.js only.
 */
export function installBenchNodes(userDir: string): void {
  const dir = join(userDir, 'nodes');
  mkdirSync(dir, { recursive: true });
  for (const [type, file] of Object.entries(BENCH_NODES)) {
    const module = resolve(__dirname, 'nodes', file);
    writeFileSync(join(dir, `${type}.js`), `module.exports = require(${JSON.stringify(module)}).default;\n`);
    writeFileSync(join(dir, `${type}.html`), `<script type="text/javascript">RED.nodes.registerType(${JSON.stringify(type)}, { category: 'bench', defaults: {} });</script>\n`);
  }
}
