// Copies what tsc does not emit into dist/: locales (messages and help) beside the entry file, and icons/ where Node-RED looks for them.
import { cpSync } from 'node:fs';

// The editor html is written by build-editor.mjs, which inlines the compiled editor code.
cpSync('nodes/locales', 'dist/locales', { recursive: true });
// Node-RED finds icons only in an icons/ folder beside each node's .js file.
cpSync('icons', 'dist/icons', { recursive: true });
