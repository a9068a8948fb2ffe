// A synthetic display in a process of its own (the capacity test's load, kept off the harness's
// and the proxies' CPU): `display-process.js MODE` prints its port as a JSON line.
import { startDisplayServer, type DisplayMode } from './display-server.js';

const display = await startDisplayServer(process.argv[2] as DisplayMode);
process.stdout.write(`${JSON.stringify({ port: display.port })}\n`);
process.on('SIGTERM', () => process.exit(0));
