// The live sessions of every node, on Redis. Each process keeps its own sessions in a hash,
// `node-sessions:<node>` (session id -> its summary and token claims): a session opened or ended
// is one field set or deleted (a change costs the same with 10 sessions or 10,000), each
// heartbeat sets again the fields of sessions whose bytes moved on (an idle session costs
// nothing), and the hash is written anew when it may be wrong (at the start, after a failed
// write, and when Redis no longer has it). It
// expires three heartbeats after its node stopped; `nodes` (a sorted
// set, by last heartbeat) names the processes alive. Ending a session elsewhere is a message on
// the `sessions-end` channel: the process that carries it closes it.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { CloseCodeValue } from '../../contract/close-codes.js';
import type { DisplayTokenClaims } from '../../contract/display-token.js';
import {
  matchesSession,
  type LiveSessionDirectory,
  type LiveSessionHandle,
  type LiveSessionInfo,
  type SessionMatch,
} from '../../contract/live-sessions.js';
import type { LiveSession, LiveSessions } from '../live-sessions.js';
import { failedIn, isObject, isString, readJson, type RedisStore } from '../../state/redis-store.js';

interface SessionRecord {
  info: LiveSessionInfo;
  claims: DisplayTokenClaims;
}

interface EndMessage {
  /** The process that sent it (which has ended its own sessions already). */
  from: string;
  /** One session on one node, or every session that matches anywhere. */
  node?: string;
  session?: string;
  match?: SessionMatch;
  code: CloseCodeValue;
  reason: string;
}

function isRecord(v: unknown): v is SessionRecord {
  return (
    isObject(v) &&
    isObject(v.info) &&
    isString(v.info.id) &&
    isString(v.info.user) &&
    isObject(v.claims) &&
    isString(v.claims.sub) &&
    isString(v.claims.jti) &&
    isString(v.claims.desktop)
  );
}

function isEndMessage(v: unknown): v is EndMessage {
  return isObject(v) && isString(v.from) && typeof v.code === 'number' && isString(v.reason) && (isString(v.session) || isObject(v.match));
}

export class RedisLiveSessions implements LiveSessionDirectory {
  /** This process: host, pid and a random part (a restarted process is another node). */
  readonly node = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  readonly #subscriber: Redis;
  readonly #timer: NodeJS.Timeout;
  #writing: Promise<void> = Promise.resolve();
  #dirty = false;
  /** Sessions opened (the session) or ended (null) since the last write. */
  readonly #changed = new Map<string, LiveSession | null>();
  /** Whether the next write sets again the fields of sessions whose bytes moved on. */
  #refresh = false;
  /** Per session, the bytes its field last said: an idle session's field is not written again. */
  readonly #written = new Map<string, string>();
  /** Whether the next write replaces the whole hash (Redis may lack some of it). */
  #anew = true;

  constructor(
    readonly local: LiveSessions,
    readonly store: RedisStore,
    readonly log: Logger,
    readonly heartbeatMs = 2000,
  ) {
    this.#subscriber = store.redis.duplicate();
    this.#subscriber.on('error', () => {}); // its state is the main client's: RedisHealth reports it
    this.#subscriber.on('message', (_channel: string, text: string) => this.#heard(text));
    local.onOpened((session) => {
      this.#changed.set(session.id, session);
      this.#publishSoon();
    });
    local.onEnded((session) => {
      this.#changed.set(session.id, null);
      this.#publishSoon();
    });
    this.#timer = setInterval(() => {
      this.#refresh = true;
      this.#publishSoon();
    }, heartbeatMs);
    this.#timer.unref();
  }

  /** Subscribes to the end channel and lists this process; resolves once both are done. */
  async start(): Promise<void> {
    await this.#subscriber.connect();
    await this.#subscriber.subscribe(this.#channel);
    this.#publishSoon();
    await this.#writing;
  }

  get #channel(): string {
    return this.store.key('sessions-end');
  }

  #nodeKey(node: string): string {
    return this.store.key('node-sessions', node);
  }

  /** Writes what changed in this node's hash; one write at a time, the last change always written. */
  #publishSoon(): void {
    if (this.#dirty) return;
    this.#dirty = true;
    this.#writing = this.#writing.then(async () => {
      this.#dirty = false;
      const key = this.#nodeKey(this.node);
      const ttl = this.heartbeatMs * 3;
      const [anew, refresh] = [this.#anew, this.#refresh];
      const changed = [...this.#changed];
      this.#changed.clear();
      this.#anew = this.#refresh = false;
      const opened = changed.flatMap(([, s]) => (s ? [s] : []));
      const ended = anew ? [] : changed.flatMap(([id, s]) => (s ? [] : [id]));
      for (const id of ended) this.#written.delete(id);
      const set = anew ? this.local.local() : refresh ? this.local.local().filter((s) => this.#written.get(s.id) !== bytesOf(s)) : opened;
      for (const s of set) this.#written.set(s.id, bytesOf(s));
      // First, whether Redis still has the hash (it may have lost it: restarted empty, or expired while away).
      const tx = this.store.redis.multi().exists(key);
      if (anew) tx.del(key);
      if (set.length) tx.hset(key, Object.fromEntries(set.map((s) => [s.id, JSON.stringify(record(s))])));
      if (ended.length) tx.hdel(key, ...ended);
      tx.pexpire(key, ttl)
        .zadd(this.store.key('nodes'), Date.now(), this.node)
        .zremrangebyscore(this.store.key('nodes'), '-inf', Date.now() - ttl);
      try {
        const answers = await tx.exec();
        failedIn(answers);
        if (answers![0]![1] === 0 && !anew && this.local.local().length > 0) {
          this.#anew = true;
          this.#publishSoon();
        }
      } catch (error) {
        // The sessions go on; the list on other nodes catches up at the next heartbeat, written anew.
        this.#anew = true;
        this.log.debug(`live sessions not listed in Redis: ${(error as Error).message}`);
      }
    });
  }

  /** Every other node's sessions, as they last listed them. */
  async #remote(): Promise<Array<SessionRecord & { node: string }>> {
    const { store } = this;
    const nodes = await store.call('listing nodes', (r) => r.zrangebyscore(store.key('nodes'), Date.now() - this.heartbeatMs * 3, '+inf'));
    const others = nodes.filter((n) => n !== this.node);
    const lists = await Promise.all(others.map((n) => store.call('listing sessions', (r) => r.hgetall(this.#nodeKey(n)))));
    return lists.flatMap((hash, i) =>
      Object.values(hash).map((text) => ({ ...readJson(this.#nodeKey(others[i]!), text, isRecord)!, node: others[i]! })),
    );
  }

  async list(): Promise<LiveSessionInfo[]> {
    return [
      ...this.local.local().map((s) => ({ ...s.info(), node: this.node })),
      ...(await this.#remote()).map((r) => ({ ...r.info, node: r.node })),
    ];
  }

  async get(id: string): Promise<LiveSessionHandle | undefined> {
    const here = this.local.find(id);
    if (here) return here;
    const found = (await this.#remote()).find((r) => r.info.id === id);
    if (!found) return undefined;
    return {
      id,
      claims: found.claims,
      end: (code, reason) => this.#send({ from: this.node, node: found.node, session: id, code, reason }),
    };
  }

  async endWhere(match: SessionMatch, code: CloseCodeValue, reason: string): Promise<number> {
    const here = this.local.endLocal(match, code, reason);
    const elsewhere = (await this.#remote()).filter((r) => matchesSession(r.claims, match)).length;
    await this.#send({ from: this.node, match, code, reason });
    return here + elsewhere;
  }

  onOpened(listener: (session: LiveSessionHandle) => void): () => void {
    return this.local.onOpened(listener);
  }

  onEnded(listener: (session: LiveSessionHandle) => void): () => void {
    return this.local.onEnded(listener);
  }

  async #send(message: EndMessage): Promise<void> {
    await this.store.call('ending a session', (r) => r.publish(this.#channel, JSON.stringify(message)));
  }

  #heard(text: string): void {
    let message: EndMessage | undefined;
    try {
      message = readJson(this.#channel, text, isEndMessage);
    } catch (error) {
      this.log.warn(`a message to end sessions was ignored: ${(error as Error).message}`);
      return;
    }
    if (!message || message.from === this.node) return;
    if (message.session) {
      if (message.node === this.node) this.local.find(message.session)?.close(message.code, message.reason);
      return;
    }
    if (message.match) this.local.endLocal(message.match, message.code, message.reason);
  }

  /** Stops listing this process (its sessions are gone from every node's list at once). */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#writing;
    await this.store.redis
      .multi()
      .del(this.#nodeKey(this.node))
      .zrem(this.store.key('nodes'), this.node)
      .exec()
      .catch(() => {});
    this.#subscriber.disconnect();
  }
}

function bytesOf(session: LiveSession): string {
  const { bytesToClient, bytesToDisplay } = session.info();
  return `${bytesToClient}/${bytesToDisplay}`;
}

function record(session: LiveSession): SessionRecord {
  return { info: session.info(), claims: session.claims };
}
