import { describe, expect, it } from 'vitest';
import { redisCredentials, redisHostPort, redisNodeAddress } from './redisNodeAddress.js';

describe('redisNodeAddress', () => {
  it('splits host and port from the credentials, defaulting the port to 6379', () => {
    expect(redisNodeAddress('redis://10.0.0.1')).toEqual({ host: '10.0.0.1', port: 6379 });
    expect(redisNodeAddress('rediss://app:s%3Acret@cache.internal:7000')).toEqual({ host: 'cache.internal', port: 7000, username: 'app', password: 's:cret' });
    expect(redisHostPort('redis://:pw@127.0.0.1:7001')).toEqual({ host: '127.0.0.1', port: 7001 });
    expect(redisCredentials('redis://:pw@127.0.0.1:7001')).toEqual({ password: 'pw' });
    expect(redisCredentials('redis://127.0.0.1:7001')).toEqual({});
  });
});
