import { connect } from 'node:net';

/** Sends one command to the Redis on `port` and resolves with its reply: enough of Redis' protocol for these tests. */
export function redis(port: string | undefined, ...args: (string | number)[]): Promise<string | number | string[]> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: Number(port) });
    let text = '';
    socket.setEncoding('utf8');
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`Redis on port ${port} closed the connection without a reply`)));
    socket.on('data', (chunk: string) => {
      text += chunk;
      const reply = parseReply(text);
      if (reply === undefined) return;
      socket.end();
      if (reply instanceof Error) reject(reply);
      else resolve(reply);
    });
    socket.write(
      `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(String(arg))}\r\n${arg}\r\n`).join('')}`,
    );
  });
}

/** A whole reply (status, error, integer, bulk string, or array of bulk strings), or undefined while incomplete. */
function parseReply(text: string): string | number | string[] | Error | undefined {
  const lines = text.split('\r\n');
  if (lines.length < 2) return undefined;
  const [head] = lines as [string];
  const body = head.slice(1);
  if (head[0] === '+') return body;
  if (head[0] === '-') return new Error(body);
  if (head[0] === ':') return Number(body);
  if (head[0] === '$') return lines.length < 3 ? undefined : (lines[1] as string);
  // An array of bulk strings (KEYS): a $length line and a value line each.
  const count = Number(body);
  if (lines.length < 2 + count * 2) return undefined;
  return Array.from({ length: count }, (_, i) => lines[2 + i * 2] as string);
}

/**
 * One worker's use of its Redis, as an app's tests that FLUSHALL before each
 * test do: empty it, write keys under `prefix`, pause while other files run,
 * then count. Two files on one Redis at once would see each other's keys, or
 * lose their own to the other's FLUSHALL.
 */
export function describeOwnRedis(prefix: string): void {
  describe(`the worker's own Redis (${prefix})`, () => {
    beforeEach(async () => {
      await redis(process.env.REDIS_PORT, 'FLUSHALL');
    });

    test.each([1, 2])('holds exactly the keys this test wrote (round %i)', async () => {
      const port = process.env.REDIS_PORT;
      expect(port).toMatch(/^\d+$/);
      for (let i = 0; i < 20; i++) await redis(port, 'SET', `${prefix}:${i}`, i);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await redis(port, 'DBSIZE')).toBe(20);
      const keys = (await redis(port, 'KEYS', '*')) as string[];
      expect(keys.filter((key) => !key.startsWith(`${prefix}:`))).toEqual([]);
    });
  });
}
