// A few connections to the directory, kept open and reused: each is bound as the service
// account (or anonymously) for searches, lent to one sign-in at a time, and dropped when it
// breaks. A new connection tries the URLs in order, with StartTLS where set, and verifies the
// directory's certificate (never skipped).
import { connect as tcpConnect, isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Client, InvalidCredentialsError, ResultCodeError } from 'ldapts';
import { DirectoryUnavailableError } from './directory.js';
import type { LdapSettings } from './ldap-settings.js';

export interface Connection {
  client: Client;
  /** Binds as the service account again (after a user's bind changed who the connection is). */
  asService(): Promise<void>;
  /** Whether `dn` and `password` bind; afterwards the connection is that user's until asService. */
  bindsAs(dn: string, password: string): Promise<boolean>;
}

interface Pooled {
  client: Client;
  service: boolean;
  url: string;
  /** Whether its TCP connection is still open (ldapts misses a close after StartTLS). */
  open: () => boolean;
}

const MAX_CONNECTIONS = 4;

export class LdapConnections {
  readonly #idle: Pooled[] = [];
  readonly #waiting: Array<() => void> = [];
  #open = 0;
  #closed = false;

  constructor(private readonly settings: LdapSettings) {}

  /**
   * Runs `work` on a connection. A connection that failed other than by the directory's answer
   * (a result code) is dropped, and the work tried once more on a new one: a kept connection
   * the directory closed (restarted, idle timeout) is only found out when used.
   */
  async use<T>(work: (connection: Connection) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const pooled = await this.#acquire();
      try {
        const result = await work(this.#connection(pooled));
        this.#release(pooled);
        return result;
      } catch (error) {
        this.#drop(pooled);
        const broken = !(error instanceof ResultCodeError) && !(error instanceof DirectoryUnavailableError);
        if (broken && attempt === 0) continue;
        if (error instanceof DirectoryUnavailableError) throw error;
        throw new DirectoryUnavailableError(`${pooled.url}: ${(error as Error).message}`);
      }
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const idle = this.#idle.splice(0);
    await Promise.all(idle.map((p) => p.client.unbind().catch(() => {})));
  }

  #connection(pooled: Pooled): Connection {
    return {
      client: pooled.client,
      asService: async () => {
        if (pooled.service) return;
        await this.#serviceBind(pooled.client, pooled.url);
        pooled.service = true;
      },
      bindsAs: async (dn, password) => {
        // An empty password is an unauthenticated bind (RFC 4513 5.1.2), which succeeds: never a sign-in.
        if (password === '') return false;
        pooled.service = false;
        try {
          await pooled.client.bind(dn, password);
          return true;
        } catch (error) {
          // invalidCredentials, and AD's or OpenLDAP's other refusals (disabled, expired, locked).
          if (error instanceof ResultCodeError) return false;
          throw error;
        }
      },
    };
  }

  async #acquire(): Promise<Pooled> {
    if (this.#closed) throw new DirectoryUnavailableError('Porthole is shutting down');
    for (;;) {
      const idle = this.#idle.pop();
      if (idle) {
        if (idle.open() && idle.client.isConnected) return idle;
        this.#drop(idle);
        continue;
      }
      if (this.#open < MAX_CONNECTIONS) {
        this.#open++;
        try {
          return await this.#connect();
        } catch (error) {
          this.#open--;
          this.#wakeOne();
          throw error;
        }
      }
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
  }

  #release(pooled: Pooled): void {
    if (this.#closed) {
      this.#drop(pooled);
      return;
    }
    this.#idle.push(pooled);
    this.#wakeOne();
  }

  #drop(pooled: Pooled): void {
    this.#open--;
    pooled.client.unbind().catch(() => {});
    this.#wakeOne();
  }

  #wakeOne(): void {
    this.#waiting.shift()?.();
  }

  /** The first URL that connects, secures and binds; the reasons of every one that did not. */
  async #connect(): Promise<Pooled> {
    const reasons: string[] = [];
    for (const url of this.settings.urls) {
      const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
      const tls: ConnectionOptions = {
        ...(this.settings.ca ? { ca: this.settings.ca } : {}),
        rejectUnauthorized: true,
        host,
        // SNI takes names only; the certificate is still checked against an IP address.
        ...(isIP(host) ? {} : { servername: host }),
      };
      const timeoutMs = this.settings.timeoutSeconds * 1000;
      // ldapts speaks TLS from the first byte whenever tlsOptions are given: only for ldaps://.
      const secure = url.startsWith('ldaps://');
      let closed = false;
      // The TCP socket itself, watched: once StartTLS replaced it, ldapts no longer notices its close.
      const createConnection = ((...args: Parameters<typeof tcpConnect>) => {
        const socket = tcpConnect(...args);
        socket.once('close', () => {
          closed = true;
        });
        return socket;
      }) as typeof tcpConnect;
      const client = new Client({
        url,
        timeout: timeoutMs,
        connectTimeout: timeoutMs,
        ...(secure ? { tlsOptions: tls } : { createConnection }),
        strictDN: false,
      });
      try {
        if (this.settings.startTls && !secure) await client.startTLS(tls);
        await this.#serviceBind(client, url);
        return { client, service: true, url, open: () => !closed };
      } catch (error) {
        client.unbind().catch(() => {});
        if (error instanceof DirectoryUnavailableError) throw error;
        reasons.push(`${url}: ${describe(error as Error)}`);
      }
    }
    throw new DirectoryUnavailableError(reasons.join('; '));
  }

  /** The service bind, or an anonymous one (which also opens an ldaps:// connection). */
  async #serviceBind(client: Client, url: string): Promise<void> {
    const { bindDn, bindPassword } = this.settings;
    try {
      await client.bind(bindDn ?? '', bindDn ? bindPassword : '');
    } catch (error) {
      if (error instanceof InvalidCredentialsError) {
        // A configuration mistake, not an outage: the same on every URL.
        throw new DirectoryUnavailableError(
          `${url} refused Porthole's bind as ${bindDn ?? 'anonymous'} (invalid credentials): check directory.ldap.bindDn and PORTHOLE_LDAP_BIND_PASSWORD`,
        );
      }
      if (error instanceof ResultCodeError)
        throw new DirectoryUnavailableError(`${url} refused Porthole's bind as ${bindDn ?? 'anonymous'}: ${error.message}`);
      throw error;
    }
  }
}

/** A connection failure as an administrator reads it; TLS failures say what to check. */
function describe(error: Error & { code?: string }): string {
  const code = error.code ?? '';
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS_CERT_ALTNAME/.test(code)) {
    return `its certificate is not trusted (${code}: ${error.message}); check directory.ldap.ca and the URL's host name`;
  }
  return code && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
}
