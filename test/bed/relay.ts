// Fault harness: a loopback TCP relay to sshd that cuts the connection after N bytes, holds it, stalls it, or goes silent.
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface Relay {
  port: number;
  /** Bytes passed client→server and server→client on the connections so far. */
  passed(): number;
  /** Resolves once a connection is held (holdAfter reached): the client's data waits in the relay. */
  held(): Promise<void>;
  /** Forwards what was held and everything after it. */
  release(): void;
  /**
   * From now on the link is silent: nothing more is forwarded either way, not even a close, yet both
   * sockets stay open and everything that arrives is read and thrown away (so both kernels keep
   * acknowledging, as across a NAT or firewall that dropped the flow).
   */
  silence(): void;
  /** Resolves once the link has gone silent (silence() or silentAfter). */
  silenced(): Promise<void>;
  close(): Promise<void>;
}

export interface RelayOptions {
  /** Cut every connection once this many bytes (both directions together) have passed. */
  cutAfter?: number;
  /** Stop forwarding client→server once this many bytes (both directions together) have passed, until
   * release(): the sender's SSH window runs out, so a stream in flight is stuck mid-way with both ends alive. */
  holdAfter?: number;
  /** Accept connections but forward nothing (a host that hangs). */
  stall?: boolean;
  /** Go silent (see Relay.silence) once this many bytes (both directions together) have passed; 0: from the start. */
  silentAfter?: number;
}

export async function startRelay(targetPort: number, options: RelayOptions): Promise<Relay> {
  let total = 0;
  let released = false;
  const waiting: Array<() => void> = [];
  let onHeld: () => void = () => {};
  const held = new Promise<void>((resolve) => (onHeld = resolve));
  let silent = options.silentAfter === 0;
  let onSilenced: () => void = () => {};
  const silencedPromise = new Promise<void>((resolve) => (onSilenced = resolve));
  if (silent) onSilenced();
  const goSilent = () => {
    silent = true;
    onSilenced();
  };
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    client.unref();
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    if (options.stall) return;
    const upstream = connect(targetPort, '127.0.0.1');
    upstream.unref();
    sockets.add(upstream);
    // A silent link passes no close either: each side's socket stays open until close().
    upstream.on('close', () => {
      sockets.delete(upstream);
      if (!silent) client.destroy();
    });
    upstream.on('error', () => {
      if (!silent) client.destroy();
    });
    client.on('close', () => {
      if (!silent) upstream.destroy();
    });
    const forward = (from: Socket, to: Socket) =>
      from.on('data', (chunk: Buffer) => {
        if (!silent && options.silentAfter !== undefined && total + chunk.length > options.silentAfter) {
          const keep = Math.max(0, options.silentAfter - total);
          total += keep;
          if (keep > 0) to.write(chunk.subarray(0, keep));
          goSilent();
        }
        if (silent) return;
        const limit = options.cutAfter;
        if (limit !== undefined && total + chunk.length >= limit) {
          const keep = Math.max(0, limit - total);
          total = limit;
          if (keep > 0) to.write(chunk.subarray(0, keep));
          // An abrupt cut, as a dropped link: reset both sides.
          client.resetAndDestroy();
          upstream.resetAndDestroy();
          return;
        }
        total += chunk.length;
        if (from === client && !released && options.holdAfter !== undefined && total >= options.holdAfter) {
          from.pause();
          waiting.push(() => {
            to.write(chunk);
            from.resume();
          });
          onHeld();
          return;
        }
        to.write(chunk);
      });
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // A test that fails before it closes its relay must not keep its test process alive for ever
  // (ava waits for every test file's process to end): the relay holds it up only while it is in use.
  server.unref();
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    passed: () => total,
    held: () => held,
    release: () => {
      released = true;
      for (const go of waiting.splice(0)) go();
    },
    silence: goSilent,
    silenced: () => silencedPromise,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A small seeded PRNG (mulberry32): the same seed gives the same cut offsets on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
