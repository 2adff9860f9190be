import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { firstHop, requestHeader, requestView } from './query.js';

function nodeRequest(headers: Record<string, string>, socket: { remoteAddress?: string; encrypted?: boolean } = {}): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  Object.assign(req.headers, headers);
  Object.defineProperty(req, 'socket', { value: socket });
  return req;
}

const proxied = { 'x-forwarded-for': '203.0.113.7, 10.0.0.1', 'x-forwarded-proto': 'HTTPS', 'x-forwarded-host': 'Shop.Example', host: 'internal:3000' };

describe('requestView: address, scheme and host under one proxy rule', () => {
  it('ignores every X-Forwarded-* header unless trustProxy says a proxy overwrites them', () => {
    expect(requestView(nodeRequest(proxied, { remoteAddress: '::ffff:10.0.0.1' }), false)).toEqual({ address: '10.0.0.1', https: false, host: 'internal:3000' });
    expect(requestView(new Request('http://internal:3000/', { headers: proxied }), false)).toEqual({ address: undefined, https: false, host: 'internal:3000' });
  });

  it('takes the first hop of each with trustProxy, the same for Node and WHATWG requests', () => {
    const expected = { address: '203.0.113.7', https: true, host: 'shop.example' };
    expect(requestView(nodeRequest(proxied, { remoteAddress: '10.0.0.1' }), true)).toEqual(expected);
    expect(requestView(new Request('http://internal:3000/', { headers: proxied }), true)).toEqual(expected);
  });

  it('knows https from a TLS socket or an https URL without any proxy', () => {
    expect(requestView(nodeRequest({ host: 'a.test' }, { remoteAddress: '192.0.2.1', encrypted: true }), false).https).toBe(true);
    expect(requestView(new Request('https://a.test/'), false)).toEqual({ address: undefined, https: true, host: 'a.test' });
  });

  it('reads nothing from what is not a request', () => {
    expect(requestView(undefined, true)).toEqual({ address: undefined, https: false, host: undefined });
    expect(requestView(new URLSearchParams('x-forwarded-for=1.2.3.4'), true)).toEqual({ address: undefined, https: false, host: undefined });
  });
});

describe('requestHeader and firstHop', () => {
  it('read one header from either kind of request, and the nearest hop of a list', () => {
    expect(requestHeader(new Request('http://a.test/', { headers: { Origin: 'http://a.test' } }), 'origin')).toBe('http://a.test');
    expect(requestHeader(nodeRequest({ origin: 'http://b.test' }), 'Origin')).toBe('http://b.test');
    expect(firstHop(' 203.0.113.7 , 10.0.0.1')).toBe('203.0.113.7');
    expect(firstHop(', 10.0.0.1')).toBeUndefined();
    expect(firstHop(null)).toBeUndefined();
  });
});
