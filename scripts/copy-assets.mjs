// Copies what tsc does not emit into dist/: editor html and locales beside the entry file, and icons/ where Node-RED looks for them.
import { cpSync, readdirSync } from 'node:fs';

for (const f of readdirSync('nodes')) if (f.endsWith('.html')) cpSync(`nodes/${f}`, `dist/${f}`);
cpSync('nodes/locales', 'dist/locales', { recursive: true });
// Node-RED finds icons only in an icons/ folder beside each node's .js file.
cpSync('icons', 'dist/icons', { recursive: true });
