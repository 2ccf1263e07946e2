// Bundles the typed editor code (editor/) and inlines it above the dialog templates in dist/durable-mqtt.html.
import { build } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';

const { outputFiles } = await build({
  entryPoints: ['editor/index.ts'],
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2020',
  // topic.ts, shared with the runtime, measures a filter with Buffer.byteLength; the shim supplies that one call.
  inject: ['editor/buffer-shim.ts'],
  // Validators must keep their declared parameters (Node-RED reads validate.length), so no minifying.
  minify: false,
  legalComments: 'none',
  write: false,
});
const script = outputFiles[0].text;
// "</script" inside the code would end the inline <script> early.
if (script.includes('</script')) throw new Error('editor bundle contains "</script"');
const templates = readFileSync('nodes/durable-mqtt.html', 'utf8');
writeFileSync('dist/durable-mqtt.html', `<script type="text/javascript">\n${script}</script>\n${templates}`);
