// Editor entry point: esbuild bundles this into the <script> at the top of dist/durable-mqtt.html.
import './broker';
import './consumer';
import './publisher';
import { registerConvertAction } from './convert-action';
import { upgradeInPlace } from './migrate';

// Imported and loaded nodes pass here before the editor validates them, so they are checked in today's terms.
RED.events.on('nodes:add', (node: Record<string, unknown> & { type: string }) => {
  upgradeInPlace(node);
});
registerConvertAction();
