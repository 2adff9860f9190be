/**
 * A `redis://` or `rediss://` URL as ioredis's Cluster and Sentinel clients take a node: the
 * host and port (6379 when the URL names none) apart from the user and password, which they
 * want in their connection options instead. Shared by the Redis driver and the Redis session
 * bus, which both build those clients from a list of URLs.
 */
export interface RedisNodeAddress {
  host: string;
  port: number;
  username?: string;
  password?: string;
}

export function redisNodeAddress(url: string): RedisNodeAddress {
  const parsed = new URL(url);
  const address: RedisNodeAddress = { host: parsed.hostname, port: parsed.port === '' ? 6379 : Number(parsed.port) };
  if (parsed.username) address.username = decodeURIComponent(parsed.username);
  if (parsed.password) address.password = decodeURIComponent(parsed.password);
  return address;
}

/** Only the host and port, for the node list. */
export function redisHostPort(url: string): { host: string; port: number } {
  const { host, port } = redisNodeAddress(url);
  return { host, port };
}

/** Only the user and password, for the options that go with the node list. */
export function redisCredentials(url: string): { username?: string; password?: string } {
  const { username, password } = redisNodeAddress(url);
  return { ...(username === undefined ? {} : { username }), ...(password === undefined ? {} : { password }) };
}
