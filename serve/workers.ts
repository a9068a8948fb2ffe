// PORTHOLE_WORKERS > 1: this process forks that many workers (node:cluster), which all serve the
// node's one port (the primary hands each connection to a worker in turn); their state is shared
// in Redis, so any worker serves any browser. The primary serves the workers' summed /metrics,
// restarts a worker that dies, and passes SIGTERM (drain) and SIGINT (stop) on to them.
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import type { Config } from './config.js';
import { createLogger } from '../gateway/logger.js';
import { listenForMetrics } from './metrics-listener.js';

/** What the primary sends a worker on SIGTERM: drain (a signal could come twice, and a second one stops at once). */
export const DRAIN_MESSAGE = 'porthole:drain';

/** A worker that dies sooner than this after its start is not restarted at once (it would loop). */
const MIN_LIFE_MS = 5000;

export async function superviseWorkers(config: Config): Promise<number> {
  const log = createLogger(config.logLevel).child({ component: 'workers' });
  const aggregator = new AggregatorRegistry();
  const metrics = await listenForMetrics(
    { metrics: () => aggregator.clusterMetrics(), contentType: aggregator.contentType },
    config.metricsListen,
  ).catch((error: Error) => {
    throw new Error(`PORTHOLE_METRICS_LISTEN ${config.metricsListen.host}:${config.metricsListen.port}: ${error.message}`);
  });
  let stopping = false;
  const started = new Map<Worker, number>();
  const fork = () => started.set(cluster.fork(), Date.now());
  cluster.on('exit', (worker, code, signal) => {
    const lived = Date.now() - (started.get(worker) ?? 0);
    started.delete(worker);
    if (stopping) {
      if (started.size === 0) void metrics.close().then(() => process.exit(0));
      return;
    }
    log.error({ pid: worker.process.pid, code, signal }, 'a worker stopped: starting another');
    setTimeout(fork, lived < MIN_LIFE_MS ? MIN_LIFE_MS : 0);
  });
  for (let i = 0; i < config.workers; i++) fork();
  log.info({ workers: config.workers, listen: `${config.listen.host}:${config.listen.port}` }, 'workers started');
  const pass = (signal: NodeJS.Signals) => () => {
    const again = stopping;
    stopping = true;
    log.info({ signal }, `${signal}: passed on to the workers`);
    for (const worker of started.keys()) {
      if (signal === 'SIGTERM' && !again) worker.send(DRAIN_MESSAGE);
      else worker.process.kill('SIGINT'); // SIGINT, or SIGTERM again: stop now
    }
    if (started.size === 0) process.exit(0);
  };
  process.on('SIGTERM', pass('SIGTERM'));
  process.on('SIGINT', pass('SIGINT'));
  return new Promise<number>(() => {}); // runs until the workers have stopped
}
