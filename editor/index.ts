// Editor entry point: esbuild bundles this into the <script> at the top of dist/durable-mqtt.html.
import './broker';
import './consumer';
import './publisher';
