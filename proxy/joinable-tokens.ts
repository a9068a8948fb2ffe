// Tokens whose claiming connection is live and may be joined (SPICE's main channel): further
// connections with the same token join its session while it lives. With shared state a joining
// connection may come through another node: hence a store, asynchronous.

export interface JoinableTokens {
  /** A joinable claim's connection is open. */
  open(jti: string): Promise<void>;
  /** One connection that opened it ended. */
  close(jti: string): Promise<void>;
  isOpen(jti: string): Promise<boolean>;
}

/** One process's joinable tokens, with how many connections hold each. */
export class LocalJoinableTokens implements JoinableTokens {
  readonly #holders = new Map<string, number>();

  async open(jti: string): Promise<void> {
    this.#holders.set(jti, (this.#holders.get(jti) ?? 0) + 1);
  }

  async close(jti: string): Promise<void> {
    const left = (this.#holders.get(jti) ?? 1) - 1;
    if (left > 0) this.#holders.set(jti, left);
    else this.#holders.delete(jti);
  }

  async isOpen(jti: string): Promise<boolean> {
    return this.#holders.has(jti);
  }
}
