import { randomBytes } from 'node:crypto';
import type { IdGenerator } from '../types.js';

// S5: the name is CGI::Session's, the id is not md5(time, pid, rand): 128 bits from the CSPRNG,
// as 32 lower-case hex characters.
export const md5IdGenerator: IdGenerator = {
  generateId() {
    return randomBytes(16).toString('hex');
  },
  isValidId(id) {
    return /^[0-9a-f]{32}$/.test(id);
  },
};
