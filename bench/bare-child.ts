// Consumer process for the "bare MQTT.js" contestant: the ceiling, with no Node-RED in the way.
import mqtt from 'mqtt';
import { childArgs, linkSink, reportStarted } from './ipc';

const args = childArgs();
if (!args.url || !args.clientId) throw new Error('bare-child needs url and clientId');

// The bench primed this client ID's session with its subscriptions, so there is nothing to subscribe.
const client = mqtt.connect(args.url, { clientId: args.clientId, clean: false, protocolVersion: 4, reconnectPeriod: 0 });
const sink = linkSink(args, () => client.endAsync());
client.on('message', (_topic, payload) => sink.record(payload));
client.once('connect', reportStarted);
client.on('error', (err) => {
  console.error(`bare client: ${err.message}`);
  process.exit(1);
});
