import { describe, expect, it } from 'vitest';
import '../builtins.js';
import { claimedRequest } from '../query.js';
import { signId } from '../signedId.js';
import { claimOf, refuseWithoutAddress } from './claim.js';
import { checkConfig } from './config.js';

const SECRET = 'a-long-enough-secret-for-signing-ids-0123456789';
const plain = checkConfig('driver:memory;id:md5', {}, {});
const signed = checkConfig('driver:memory;id:md5', {}, { secret: SECRET });
const id = '0123456789abcdef0123456789abcdef';
const request = (cookie: string) => new Request('http://x/', { headers: { cookie } });

describe('what a caller or a request claims as its session id', () => {
  it('takes a string sid as it is, and reads a request cookie under the session name', () => {
    expect(claimOf(id, plain, 'CGISESSID')).toBe(id);
    expect(claimOf(request(`CGISESSID=${id}`), plain, 'CGISESSID')).toBe(id);
    expect(claimOf(request(`other=${id}`), plain, 'CGISESSID')).toBeUndefined();
  });

  it('with a secret, a request claim counts only when signed, and the claim is the bare id', () => {
    expect(claimOf(request(`CGISESSID=${signId(id, SECRET)}`), signed, 'CGISESSID')).toBe(id);
    // An unsigned or forged cookie is no claim: nothing is looked up.
    expect(claimOf(request(`CGISESSID=${id}`), signed, 'CGISESSID')).toBeUndefined();
    expect(claimOf(request(`CGISESSID=${signId(id, 'another-secret-of-enough-length-0123456789')}`), signed, 'CGISESSID')).toBeUndefined();
    // A claimed request carries a cookie value: verified the same way, its own cookie ignored.
    expect(claimOf(claimedRequest(request(`CGISESSID=${signId('f'.repeat(32), SECRET)}`), signId(id, SECRET)), signed, 'CGISESSID')).toBe(id);
    expect(claimOf(claimedRequest(request(''), id), signed, 'CGISESSID')).toBeUndefined();
  });

  it("drops a claim of the wrong shape for the id generator before it reaches a driver", () => {
    expect(claimOf('../../etc/passwd', plain, 'CGISESSID')).toBeUndefined();
    expect(claimOf('ABC', plain, 'CGISESSID')).toBeUndefined();
    expect(claimOf(request('CGISESSID=%00%2F'), plain, 'CGISESSID')).toBeUndefined();
  });

  it('refuses a sid that is neither a string nor a request, naming the type', () => {
    expect(() => claimOf(true, plain, 'CGISESSID')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('got boolean') }));
  });

  it('refuses ipMatch for a request with no known address, and allows it with one', () => {
    const matching = checkConfig('driver:memory', {}, { ipMatch: true });
    expect(() => refuseWithoutAddress(matching, undefined)).toThrow(/carries no client address/);
    expect(() => refuseWithoutAddress(matching, '10.0.0.1')).not.toThrow();
    expect(() => refuseWithoutAddress(plain, undefined)).not.toThrow();
  });
});
